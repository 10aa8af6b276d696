"""Nothing leaked: credentials in URLs and Authorization values never reach the lake or the terminal.

`warehouse.redact` by hand (each rule, JSON and Python reprs, nested configs, no false masks,
linear time on hostile text), then the issue's reproduction end to end: `ttsw generate bon` as a
subprocess against tests/openai_server.py behind HTTP Basic auth, with credentials in --base-url,
a fake key in the environment, a server that echoes the request's headers into its error body,
a wrong password and a bearer key echoed back; then every byte of stdout and stderr, every file
under the home and every value of every Parquet file must be free of each secret.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from files import write_jsonl
from openai_server import OpenAIServer
from warehouse.catalog import memory_connection
from warehouse.home import Home
from warehouse.redact import MASK, is_secret_name, redact

USER, PASSWORD, WRONG = "user", "pa55-secret-771", "wr0ng-pa55-772"
BEARER = "sk-fake-bearer-9f8e7d6c"  # the key sent to the bearer-only server
IDLE_KEY = "sk-fake-idle-1a2b3c4d"  # in OPENAI_API_KEY while the URL carries credentials: never sent, never shown


def basic_token(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


SECRETS = (PASSWORD, WRONG, basic_token(USER, PASSWORD), basic_token(USER, WRONG), BEARER, IDLE_KEY)


# --- the rules, by hand ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("https://user:pass@host.example/v1", "https://***@host.example/v1"),
    ("http://ghp_token@github.com/x.git", "http://***@github.com/x.git"),  # user only: often a token
    ("http://u:p@ss@h:80/v1?to=a@b", "http://***@h:80/v1?to=a@b"),  # an unescaped @ in the password
    ('{"url": "http:\\/\\/u:pw@h\\/v1"}', '{"url": "http:\\/\\/***@h\\/v1"}'),  # JSON's escaped slashes
    ('{"a": "http://u:p@h", "b": "x@y"}', '{"a": "http://***@h", "b": "x@y"}'),  # userinfo stops at quotes
    ("bad header: Basic dXNlcjpzZWNyZXQ=", "bad header: Basic ***"),
    ("got bearer sk-test-123.x_y", "got bearer ***"),
    ('{"Host": "h", "Authorization": "Basic dXNlcjpzZWNyZXQ="}', '{"Host": "h", "Authorization": "Basic ***"}'),
    ("{'authorization': 'raw-token'}", "{'authorization': '***'}"),
    ('{"AUTHORIZATION":"two words","n":1}', '{"AUTHORIZATION":"***","n":1}'),
    ('{\\"authorization\\": \\"tok\\"}', '{\\"authorization\\": \\"***\\"}'),  # JSON inside a JSON string
    ("Authorization: Digest abc", "Authorization: Digest ***"),
    ("OPENAI_API_KEY=sk-abc rest", "OPENAI_API_KEY=*** rest"),
    ("x-api-key: abc123", "x-api-key: ***"),
    ("?apikey=zzz&b=2", "?apikey=***&b=2"),
    ("client_secret = 'c-9'", "client_secret = '***'"),
    ("password: hunter2", "password: ***"),
])
def test_each_rule_masks_the_value_and_keeps_the_rest(text, expected):
    assert redact(text) == expected
    assert redact(expected) == expected  # idempotent


@pytest.mark.parametrize("text", [
    "api_key_env: OPENAI_API_KEY",  # names the variable, not its value
    "base_url: http://localhost:8000/v1",
    "see http://host/path@x and mail a@b.com",  # an @ in a path or an address is no userinfo
    "the token limit is 4096 tokens; password=",
    "apikeys: none, my_password_hint: x",
])
def test_text_without_credentials_is_unchanged(text):
    assert redact(text) == text


def test_configs_are_redacted_item_by_item():
    config = {"base_url": "http://u:s3@h/v1", "api_key_env": "OPENAI_API_KEY", "n": 4, "stop": ("a", "Bearer x"),
              "headers": {"X-Api-Key": "abc", "Authorization": None, "Accept": "json"}, "api_key": "k",
              "extra": [{"password": 123}, "Basic Zm9v"]}
    assert redact(config) == {
        "base_url": "http://***@h/v1", "api_key_env": "OPENAI_API_KEY", "n": 4, "stop": ("a", "Bearer ***"),
        "headers": {"X-Api-Key": MASK, "Authorization": None, "Accept": "json"}, "api_key": MASK,
        "extra": [{"password": MASK}, "Basic ***"]}
    assert config["base_url"] == "http://u:s3@h/v1"  # a copy: the input is left alone
    assert [is_secret_name(k) for k in ("Proxy-Authorization", "OPENAI_API_KEY", "api_key_env", "apikeys")] == [
        True, True, False, False]
    assert redact(None) is None and redact(3.5) == 3.5


@pytest.mark.parametrize("hostile", [
    "a" * 1_000_000, "://" * 300_000, "http://" + "a" * 1_000_000, ("://" + "a" * 50) * 20_000,
    "basic " * 200_000, "Bearer " + " " * 1_000_000, "api_key=" * 120_000, "password:" + " " * 1_000_000,
    'password: "' + "x" * 1_000_000, "a_" * 500_000, "@" * 1_000_000, ":\\/\\/" * 200_000,
])
def test_hostile_text_takes_linear_time(hostile):
    started = time.perf_counter()
    redact(hostile)
    # about 0.1-0.4 s for 1 MB here; a quadratic pattern would take hours
    assert time.perf_counter() - started < 5


# --- end to end: ttsw generate bon against a server behind Basic auth -------------------------------

def run_ttsw(home: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    env = os.environ | {"OPENAI_API_KEY": IDLE_KEY, "TTSW_FAKE_KEY": BEARER}
    env.pop("TTSW_DEBUG", None)
    proc = subprocess.run([sys.executable, "-m", "ttsw", "--home", str(home), *args], capture_output=True,
                          text=True, timeout=180, env=env)
    assert (proc.returncode == 0) == ok, proc.stdout + proc.stderr
    return proc


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


@pytest.mark.slow
def test_credentials_never_reach_the_lake_or_the_terminal(tmp_path):
    home = tmp_path / "home"
    data = write_jsonl(tmp_path / "q.jsonl", [{"problem": "What is 2 + 2?", "answer": "4"},
                                              {"problem": "What is 3 + 3?", "answer": "6"}])
    with OpenAIServer(basic_auth=(USER, PASSWORD), answer="so the answer is \\boxed{4}") as server:
        url = server.url
        with_credentials = url.replace("http://", f"http://{USER}:{PASSWORD}@")
        bon = ["generate", "bon", "--backend", "openai", "--model", "tiny", "--dataset", str(data), "--n", "2",
               "--max-tokens", "8", "--no-progress"]

        plan = run_ttsw(home, *bon, "--base-url", with_credentials, "--dry-run")
        assert f"base_url: {url.replace('http://', 'http://***@')}" in plan.stdout
        done = run_ttsw(home, *bon, "--base-url", with_credentials)
        assert "complete" in done.stdout and server.calls[-1].authorization == f"Basic {basic_token(USER, PASSWORD)}"

        server.script("echo")  # the next call's answer: a 400 quoting every request header as JSON
        echoed = run_ttsw(home, *bon, "--seed", "1", "--base-url", with_credentials, ok=False)
        assert '"Authorization": "Basic ***"' in echoed.stderr and len(echoed.stderr.strip().splitlines()) == 1
        refused = run_ttsw(home, *bon, "--seed", "2", "--base-url", with_credentials.replace(PASSWORD, WRONG),
                           ok=False)
        assert "HTTP 401: bad credentials: Basic ***" in refused.stderr
        # the failed run resumes from its stored config, whose masked URL must be given again
        runs = json.loads(run_ttsw(home, "runs", "list", "--format", "json").stdout)
        failed = next(r["run_id"] for r in runs if r["status"] == "failed" and "seed1" in r["name"])
        masked = run_ttsw(home, "generate", "bon", "--resume", failed, "--no-progress", ok=False)
        assert "has its credentials masked" in masked.stderr and "--base-url" in masked.stderr
        resumed = run_ttsw(home, "generate", "bon", "--resume", failed, "--base-url", with_credentials,
                           "--no-progress")
        assert "complete" in resumed.stdout

        server.basic_auth, server.api_key = None, BEARER
        server.script("leak")  # a 400 quoting the Authorization header
        bearer = run_ttsw(home, *bon, "--seed", "3", "--base-url", url, "--api-key-env", "TTSW_FAKE_KEY", ok=False)
        assert "bad header: Bearer ***" in bearer.stderr
    listed = run_ttsw(home, "runs", "list")
    shown = [run_ttsw(home, "runs", "show", r["run_id"])
             for r in json.loads(run_ttsw(home, "runs", "list", "--format", "json").stdout)]
    assert len(shown) == 4

    for proc in (plan, done, echoed, refused, masked, resumed, bearer, listed, *shown):
        assert leaks(proc.stdout + proc.stderr) == [], proc.args
    con = memory_connection(Home(home))
    try:
        events = con.sql("select * from lake.run_events").to_arrow_table().to_pylist()
    finally:
        con.close()
    assert len({e["run_id"] for e in events}) == 4 and sum(e["status"] == "failed" for e in events) == 3
    assert {json.loads(e["config"])["base_url"] for e in events} == {url.replace("http://", "http://***@"), url}
    stored = json.dumps(events, default=str)
    assert leaks(stored) == [] and "Basic ***" in stored and "Bearer ***" in stored
    files = [p for p in home.rglob("*") if p.is_file()]
    for path in files:
        raw = path.read_bytes()
        assert [s for s in SECRETS if s.encode() in raw] == [], path
        if path.suffix == ".parquet":  # compressed pages hide text from a byte search: read every value
            assert leaks(json.dumps(pq.read_table(path).to_pylist(), default=str)) == [], path
    assert sum(p.suffix == ".parquet" for p in files) > 10

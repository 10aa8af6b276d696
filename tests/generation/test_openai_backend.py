"""The openai backend over real HTTP against tests/openai_server.py: a tiny random GPT-2 behind the
OpenAI protocol for samples, seeds and token logs; canned answers with known latency and scripted
faults (429, 500, a hang past the timeout, 4xx) for retries, ordering and the concurrency bound; keys and
URL credentials sent but never shown, echoed headers masked."""

from __future__ import annotations

import base64
import email.utils
import math
import time
import traceback

import pytest

from generation.backends.base import TOKEN_LOG_COLUMNS, GenRequest
from generation.backends.openai import (APIError, OpenAIBackend, Usage, retry_after_seconds, split_credentials,
                                        split_tokens, token_log)
from openai_server import OpenAIServer, build_tiny_model

KEY_ENV = "TTSW_TEST_OPENAI_KEY"
SECRET = "sk-test-5e1f0c2b9d7a4e3f"


def chat(request_id: str, content: str = "question : what is two plus two", **kwargs) -> GenRequest:
    kwargs = {"n": 1, "temperature": 1.0, "max_tokens": 8} | kwargs
    return GenRequest(request_id, messages=({"role": "user", "content": content},), **kwargs)


def backend(server: OpenAIServer, **kwargs) -> OpenAIBackend:
    settings = {"model": server.model_name, "base_url": server.url, "api_key_env": None, "backoff": 0.01,
                "timeout": 5.0} | kwargs
    return OpenAIBackend(**settings)


@pytest.fixture(scope="module")
def model_server(tmp_path_factory):
    with OpenAIServer(model_dir=build_tiny_model(tmp_path_factory.mktemp("openai") / "tiny")) as server:
        yield server


@pytest.fixture
def canned():
    with OpenAIServer(answer="the answer is") as server:
        yield server


def test_every_request_gets_its_n_samples_and_the_usage_adds_up(model_server):
    before = dict(model_server.usage)
    client = backend(model_server, concurrency=3)
    requests = [chat(f"q{i}", n=3, seed=i) for i in range(5)]
    answers = dict((r.request_id, samples) for r, samples in client.generate(requests))
    assert sorted(answers) == [f"q{i}" for i in range(5)]
    for samples in answers.values():
        assert len(samples) == 3
        assert all(s.finish_reason in {"stop", "length"} and isinstance(s.text, str) for s in samples)
        assert all(s.token_log is None for s in samples)
    reported = {k: model_server.usage[k] - before.get(k, 0) for k in ("prompt_tokens", "completion_tokens")}
    # three choices without logprobs: the estimate splits the reported total, so the sum is exact
    assert sum(s.num_tokens for samples in answers.values() for s in samples) == reported["completion_tokens"]
    assert client.usage == Usage(requests=5, calls=5, retries=0, prompt_tokens=reported["prompt_tokens"],
                                 completion_tokens=reported["completion_tokens"])


def test_the_seed_reaches_the_server_and_fixes_the_samples(model_server):
    client = backend(model_server)
    answers = {r.request_id: s for r, s in client.generate([chat("a", n=2, seed=11), chat("b", n=2, seed=11),
                                                           chat("c", n=2, seed=12)])}
    first, again, other = answers["a"], answers["b"], answers["c"]
    assert [s.text for s in first] == [s.text for s in again]
    assert [s.text for s in first] != [s.text for s in other]
    assert {c.body["seed"] for c in model_server.calls[-3:]} == {11, 12}


def test_greedy_token_logs_on_the_completions_endpoint_rank_the_chosen_token_first(model_server):
    client = backend(model_server, chat=False, top_logprobs=4)
    request = GenRequest("g", n=2, temperature=0.0, prompt="question : what is", max_tokens=6, log_tokens=True)
    [(_, samples)] = list(client.generate([request]))
    assert model_server.calls[-1].body["logprobs"] == 4
    for sample in samples:
        log = sample.token_log
        assert set(log) == set(TOKEN_LOG_COLUMNS)
        assert sample.num_tokens == len(log["pos"]) == 6  # counted from the logprobs: exact
        assert log["pos"] == list(range(6))
        assert log["rank"] == [1] * 6
        assert log["logprob"] == [top[0] for top in log["topk_logprobs"]]
        assert all(len(top) == 4 and top == sorted(top, reverse=True) for top in log["topk_logprobs"])
        assert log["top1_prob"] == pytest.approx([math.exp(lp) for lp in log["logprob"]])
        assert log["token_id"] == log["kept_k"] == [None] * 6
        assert log["topk_ids"] == [[None] * 4] * 6
        assert log["temperature_eff"] == [0.0] * 6
    assert samples[0].text == samples[1].text  # greedy


def test_sampled_chat_token_logs_are_consistent(model_server):
    client = backend(model_server, top_logprobs=3)
    [(_, [sample])] = list(client.generate([chat("s", seed=3, log_tokens=True)]))
    body = model_server.calls[-1].body
    assert (body["logprobs"], body["top_logprobs"]) == (True, 3)
    log = sample.token_log
    assert sample.num_tokens == len(log["pos"])
    for lp, rank, top, top1, entropy in zip(log["logprob"], log["rank"], log["topk_logprobs"], log["top1_prob"],
                                             log["entropy"]):
        assert rank == (sum(v > lp for v in top) + 1 if sum(v > lp for v in top) < 3 else None)
        assert top1 == pytest.approx(math.exp(top[0])) and top1 >= math.exp(lp) - 1e-12
        assert entropy == pytest.approx(-sum(math.exp(v) * v for v in top))


def test_token_log_from_listed_logprobs_by_hand():
    half, quarter, eighth = math.log(0.5), math.log(0.25), math.log(0.125)
    listed = {"a": half, "b": quarter, "c": eighth}
    log = token_log([(quarter, listed), (math.log(0.01), listed), (half, {"a": half})], k=3, temperature=0.7)
    assert log["rank"] == [2, None, 1]  # 0.01 is beaten by all 3 listed: its rank is > 3, unknown
    assert log["top1_prob"] == pytest.approx([0.5, 0.5, 0.5])
    # 0.5 ln 2 + 0.25 ln 4 + 0.125 ln 8 = 1.375 ln 2; one listed token: 0.5 ln 2
    assert log["entropy"] == pytest.approx([1.375 * math.log(2)] * 2 + [0.5 * math.log(2)])
    assert log["topk_logprobs"][0] == [half, quarter, eighth]
    # a server that lists the chosen token beside the top k (vLLM): 4 listed, k = 3, rank 4 unknown
    with_chosen = {"a": half, "b": quarter, "c": eighth, "z": math.log(0.01)}
    log = token_log([(math.log(0.01), with_chosen)], k=3, temperature=1.0)
    assert log["rank"] == [None] and log["topk_logprobs"] == [[half, quarter, eighth]]
    assert log["entropy"][0] == pytest.approx(1.375 * math.log(2) - 0.01 * math.log(0.01))


def test_split_tokens_by_hand():
    # shares 2.5, 2.5, 5: floors 2, 2, 5; the one left goes to the first of the tied fractions
    assert split_tokens(10, ["a", "b", "cc"]) == [3, 2, 5]
    assert split_tokens(7, ["", ""]) == [4, 3]
    assert split_tokens(0, ["abc", "d"]) == [0, 0]


def test_usage_cost_by_hand():
    # 2M prompt tokens at $0.15/M + 0.5M completion tokens at $0.60/M = 0.30 + 0.30
    assert Usage(prompt_tokens=2_000_000, completion_tokens=500_000).cost(0.15, 0.60) == pytest.approx(0.60)


def test_answers_are_yielded_as_they_arrive(canned):
    canned.latency = lambda body: 0.4 if "slow" in body["messages"][0]["content"] else 0.0
    client = backend(canned, concurrency=4)
    order = [r.request_id for r, _ in client.generate([chat("slow", "slow"), chat("a"), chat("b"), chat("c")])]
    assert sorted(order) == ["a", "b", "c", "slow"] and order[-1] == "slow"


def test_concurrency_is_bounded_and_used(canned):
    canned.latency = 0.05
    client = backend(canned, concurrency=4)
    assert len(list(client.generate([chat(f"r{i}") for i in range(24)]))) == 24
    assert canned.max_in_flight == 4


def test_429_is_retried_after_the_servers_retry_after(canned):
    canned.retry_after = 0.2
    canned.script("429", "429")
    client = backend(canned, backoff=30.0)  # the backoff would take minutes: Retry-After wins
    started = time.perf_counter()
    [(_, samples)] = list(client.generate([chat("r", n=2)]))
    assert 0.4 <= time.perf_counter() - started < 3
    assert [s.text for s in samples] == ["the answer is 0", "the answer is 1"]
    assert (client.usage.calls, client.usage.retries, client.usage.requests) == (3, 2, 1)


def test_500_sometimes_is_retried_with_backoff(canned):
    canned.script("500", "500", "500")
    client = backend(canned, concurrency=1)
    answers = list(client.generate([chat(f"r{i}") for i in range(4)]))
    assert len(answers) == 4 and client.usage.retries == 3 and len(canned.calls) == 7


def test_a_call_past_the_timeout_is_retried(canned):
    canned.hang_s = 1.5
    canned.script("hang")
    client = backend(canned, timeout=0.3)
    [(_, [sample])] = list(client.generate([chat("r")]))
    assert sample.text == "the answer is 0" and client.usage.retries == 1


def test_retries_run_out_with_the_last_failure_named(canned):
    canned.script("500", "500", "500")
    client = backend(canned, max_retries=2)
    with pytest.raises(APIError, match=r"request r: .* gave up after 3 attempts; the last: HTTP 500: the server had"):
        list(client.generate([chat("r")]))


def test_a_400_fails_fast_with_the_servers_message(canned):
    client = backend(canned)
    message = r"HTTP 400: temperature must be between 0 and 2, got 3.5 \(param: temperature\)"
    with pytest.raises(APIError, match=message) as info:
        list(client.generate([chat("hot", temperature=3.5)]))
    assert info.value.status == 400 and len(canned.calls) == 1 and client.usage.retries == 0


def test_answers_in_flight_are_yielded_before_the_failure(canned):
    canned.latency = lambda body: 0.3 if body["messages"][0]["content"] == "slow" else 0.0
    client = backend(canned, concurrency=2)
    seen = []
    with pytest.raises(APIError, match="request bad: .*HTTP 400"):
        for request, _ in client.generate([chat("slow", "slow"), chat("bad", temperature=3.5), chat("never")]):
            seen.append(request.request_id)
    assert seen == ["slow"]  # answered after the failure, still handed over; nothing new was started
    assert len(canned.calls) == 2


def test_n_refused_falls_back_to_one_call_per_sample(canned):
    canned.max_n = 1
    client = backend(canned, concurrency=1)
    answers = dict((r.request_id, samples) for r, samples in client.generate([chat("a", n=3, seed=7), chat("b", n=2)]))
    assert [s.text for s in answers["a"]] == ["the answer is 0"] * 3 and len(answers["b"]) == 2
    # a's n=3 is refused with a 400 naming n, once; then one call per sample, seeded seed + i
    calls = [(c.body["n"], c.body.get("seed")) for c in canned.calls]
    assert calls == [(3, 7), (1, 7), (1, 8), (1, 9), (1, None), (1, None)]
    assert (client.usage.requests, client.usage.calls, client.usage.retries) == (2, 6, 0)


def test_fewer_choices_than_n_are_made_up_one_call_each(canned):
    canned.ignore_n = True
    client = backend(canned)
    [(_, samples)] = list(client.generate([chat("a", n=3, seed=7)]))
    assert len(samples) == 3
    assert [(c.body["n"], c.body.get("seed")) for c in canned.calls] == [(3, 7), (1, 8), (1, 9)]


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after_seconds("1.5") == 1.5 and retry_after_seconds("-3") == 0.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert retry_after_seconds("inf") is None and retry_after_seconds("nan") is None
    in_30s = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= retry_after_seconds(in_30s) <= 30


def test_a_call_carries_the_requests_settings(canned):
    client = backend(canned, extra_body={"top_k": 20, "min_p": 0.05})
    request = chat("r", n=2, temperature=0.6, top_p=0.9, max_tokens=64, seed=3)
    list(client.generate([request]))
    assert canned.calls[0].path == "/v1/chat/completions"
    assert canned.calls[0].body == {
        "model": "tiny", "messages": [{"role": "user", "content": "question : what is two plus two"}], "n": 2,
        "temperature": 0.6, "top_p": 0.9, "max_tokens": 64, "top_k": 20, "seed": 3, "min_p": 0.05}


def test_requests_that_do_not_fit_the_endpoint_fail_before_any_call(canned):
    with pytest.raises(ValueError, match="set chat: false"):
        list(backend(canned).generate([GenRequest("p", n=1, temperature=1.0, prompt="raw")]))
    with pytest.raises(ValueError, match="need the hf or vllm backend"):
        list(backend(canned).generate([chat("d", decoding={"min_p": 0.1})]))
    assert canned.calls == []


def test_stopping_early_cancels_the_calls_in_flight(canned):
    canned.latency = lambda body: 0.0 if body["messages"][0]["content"] == "fast" else 5.0
    client = backend(canned, concurrency=3)
    started = time.perf_counter()
    answers = client.generate([chat("fast", "fast")] + [chat(f"s{i}", "slow") for i in range(5)])
    assert next(answers)[0].request_id == "fast"
    answers.close()
    assert time.perf_counter() - started < 2


def test_the_key_comes_from_the_environment_and_never_shows(canned, monkeypatch):
    canned.api_key = SECRET
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(ValueError, match=KEY_ENV):
        backend(canned, api_key_env=KEY_ENV)
    monkeypatch.setenv(KEY_ENV, SECRET)
    client = backend(canned, api_key_env=KEY_ENV)
    assert len(list(client.generate([chat("ok")]))) == 1
    assert canned.calls[-1].authorization == f"Bearer {SECRET}"
    assert SECRET not in repr(client) and SECRET not in str(vars(client))

    canned.script("leak")  # a 400 whose message quotes the Authorization header back
    with pytest.raises(APIError) as leaked:
        list(client.generate([chat("leak")]))
    monkeypatch.setenv(KEY_ENV, "sk-test-wrong-0000")
    with pytest.raises(APIError, match="HTTP 401: incorrect API key provided") as refused:
        list(backend(canned, api_key_env=KEY_ENV).generate([chat("wrong")]))
    for error, key in ((leaked.value, SECRET), (refused.value, "sk-test-wrong-0000")):
        shown = str(error) + repr(error) + "".join(traceback.format_exception(error))
        assert key not in shown
    assert "Bearer ***" in str(leaked.value)


def test_credentials_in_the_url_are_sent_as_basic_and_never_show(canned, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)  # credentials in the URL need no key
    canned.basic_auth = ("alice", "pa:ss@word-9")
    url = canned.url.replace("http://", "http://alice:pa%3Ass%40word-9@")
    basic = "Basic " + base64.b64encode(b"alice:pa:ss@word-9").decode()
    client = backend(canned, base_url=url, api_key_env=KEY_ENV)
    assert client.base_url == canned.url
    assert len(list(client.generate([chat("ok")]))) == 1
    assert canned.calls[-1].authorization == basic
    for shown in (repr(client), str(vars(client))):
        assert "alice" not in shown and "pa:ss" not in shown and "pa%3Ass" not in shown

    canned.script("leak", "echo")  # the Authorization header quoted back, alone and among all headers as JSON
    errors = []
    for request_id in ("leak", "echo"):
        with pytest.raises(APIError) as info:
            list(client.generate([chat(request_id)]))
        errors.append(info.value)
    wrong = url.replace("word-9", "word-0")
    with pytest.raises(APIError, match="HTTP 401: bad credentials: Basic \\*\\*\\*") as refused:
        list(backend(canned, base_url=wrong).generate([chat("wrong")]))
    for error in (*errors, refused.value):
        shown = str(error) + repr(error) + "".join(traceback.format_exception(error))
        assert "pa:ss" not in shown and "pa%3Ass" not in shown and basic.split()[1] not in shown
        assert basic.split()[1][:-4] not in shown  # nor the start of the token
        assert canned.url.replace("http://", "") in shown  # the request is still named
    assert 'Basic ***' in str(errors[0]) and '"Authorization": "Basic ***"' in str(errors[1])


def test_a_bearer_key_echoed_among_the_headers_is_masked(canned, monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)
    canned.script("echo")
    with pytest.raises(APIError) as info:
        list(backend(canned, api_key_env=KEY_ENV).generate([chat("echo")]))
    assert SECRET not in str(info.value) and '"Authorization": "Bearer ***"' in str(info.value)
    assert '"Host": "127.0.0.1:' in str(info.value)  # the rest of the echo is kept


def test_split_credentials():
    assert split_credentials("http://h:8000/v1") == ("http://h:8000/v1", None)
    bare, credentials = split_credentials("https://u%40x:p%2Fw@h/v1")
    assert bare == "https://h/v1" and credentials.pair == ("u@x", "p/w")
    assert credentials.secrets() == [base64.b64encode(b"u@x:p/w").decode(), "u@x:p/w", "p/w"]
    _, token_only = split_credentials("https://ghp_token123@h/v1")  # a user alone is the secret
    assert token_only.pair == ("ghp_token123", "") and token_only.secrets()[-1] == "ghp_token123"
    with pytest.raises(ValueError, match=r"base_url 'http://\*\*\*@h:port/v1' is not a URL") as info:
        split_credentials("http://u:hunter22@h:port/v1")
    assert "hunter22" not in str(info.value)

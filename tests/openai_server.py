"""A local OpenAI-compatible HTTP server for the openai backend's tests and benchmark.

`OpenAIServer` answers POST /v1/chat/completions and /v1/completions (and GET /v1/models) on
127.0.0.1 from a ThreadingHTTPServer in a daemon thread. Two engines:
- a tiny transformers model (`model_dir`): n sampled completions per call, per-call seeds,
  finish_reason 'stop' (EOS) or 'length', usage, and logprobs when asked (chat: logprobs +
  top_logprobs; completions: logprobs=k), taken under the distribution sampled from (after
  temperature and top-p; a removed token has no entry). The EOS token counts as a completion
  token and has a logprob entry, as in vLLM; the text leaves it out. One call at a time uses the
  model, so a seed fixes the answer.
- canned answers (no model_dir): choice i is `f"{answer} {i}"` after `latency` seconds (a number,
  or a function of the request body), no logprobs: a server whose speed is known, so a benchmark
  measures the client.

Faults for the tests: `script(...)` queues one fault per coming call, in order: "429" (with a
Retry-After header of `retry_after` seconds, None for none), "500", "hang" (sleep `hang_s`, longer
than the client's timeout, then answer), "leak" (a 400 whose message quotes the Authorization
header, to check that clients redact it), "echo" (a 400 whose message is every request header as
JSON, as debugging proxies answer). `max_n` refuses n above it with a 400 naming param n;
`ignore_n` answers one choice whatever n; `api_key` makes it answer 401 to any other bearer token,
`basic_auth` (user, password) to any other HTTP Basic credentials.
It records every call (`calls`: path, body, Authorization header), the most calls in flight at
once (`max_in_flight`) and the usage it reported (`usage`).

    python tests/openai_server.py [--model-dir DIR | --tiny-model DIR] [--latency S]
prints `listening on http://127.0.0.1:PORT/v1` and serves until killed (for bench/generation.py).
"""

from __future__ import annotations

import argparse
import base64
import collections
import importlib.util
import json
import math
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

LM_EVAL_FIXTURE_BUILD = Path(__file__).resolve().parent / "ingest" / "lm_eval_fixture" / "build.py"
FAULTS = ("429", "500", "hang", "leak", "echo")
MAX_TOP_LOGPROBS = 20


class RequestError(Exception):
    """A request the server refuses: an HTTP status and an OpenAI-style error body."""

    def __init__(self, status: int, message: str, param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param = status, message, param


@dataclass
class Choice:
    text: str
    finish_reason: str
    tokens: list[str]
    # per token: its logprob and the top entries [(token, logprob)], only when logprobs were asked for
    logprobs: list[tuple[float, list[tuple[str, float]]]] | None = None


@dataclass
class Answer:
    choices: list[Choice]
    prompt_tokens: int
    completion_tokens: int


class CannedEngine:
    """Fixed answers after a fixed (or per-request) latency, both read from the server at each call."""

    def __init__(self, server: "OpenAIServer"):
        self.server = server

    def complete(self, body: dict, prompt: str, n: int, top_logprobs: int | None) -> Answer:
        latency, answer = self.server.latency, self.server.answer
        time.sleep(latency(body) if callable(latency) else latency)
        choices = [Choice(f"{answer} {i}", "stop", f"{answer} {i}".split()) for i in range(n)]
        return Answer(choices, len(prompt.split()), sum(len(c.tokens) for c in choices))


class ModelEngine:
    """A transformers causal LM sampling n completions of one prompt in one batch."""

    def __init__(self, model_dir: Path):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
        self.context = self.model.config.max_position_embeddings
        self.lock = threading.Lock()

    def complete(self, body: dict, prompt: str, n: int, top_logprobs: int | None) -> Answer:
        torch = self.torch
        ids = self.tokenizer(prompt, return_tensors="pt").input_ids
        if ids.shape[1] == 0:
            ids = torch.tensor([[self.tokenizer.eos_token_id]])
        max_tokens = int(body.get("max_tokens") or 16)
        if ids.shape[1] + max_tokens > self.context:
            raise RequestError(400, f"this model's context is {self.context} tokens; the prompt has "
                                    f"{ids.shape[1]} and max_tokens is {max_tokens}", "max_tokens")
        temperature = float(body.get("temperature", 1.0))
        sampling = {"do_sample": True, "temperature": temperature, "top_p": float(body.get("top_p", 1.0)),
                    "top_k": 0} if temperature > 0 else {"do_sample": False}
        batch = ids.repeat(n, 1)  # n rows rather than num_return_sequences: greedy allows only one
        with self.lock, torch.no_grad():
            if body.get("seed") is not None:
                torch.manual_seed(int(body["seed"]))
            out = self.model.generate(batch, attention_mask=torch.ones_like(batch), max_new_tokens=max_tokens,
                                      output_scores=top_logprobs is not None, return_dict_in_generate=True,
                                      pad_token_id=self.tokenizer.pad_token_id,
                                      eos_token_id=self.tokenizer.eos_token_id, **sampling)
        logprobs = None if top_logprobs is None else torch.log_softmax(torch.stack(out.scores, dim=1).float(), dim=-1)
        choices = [self._choice(row, None if logprobs is None else logprobs[i], top_logprobs)
                   for i, row in enumerate(out.sequences[:, ids.shape[1]:].tolist())]
        return Answer(choices, ids.shape[1], sum(len(c.tokens) for c in choices))

    def _choice(self, row: list[int], logprobs, top_logprobs: int | None) -> Choice:
        eos = self.tokenizer.eos_token_id
        length = row.index(eos) + 1 if eos in row else len(row)
        generated = row[:length]
        text = self.tokenizer.decode([t for t in generated if t != eos], skip_special_tokens=True)
        tokens = [t or "" for t in self.tokenizer.convert_ids_to_tokens(generated)]  # ids past the vocabulary: ""
        entries = None
        if logprobs is not None:
            entries = []
            for step, token_id in enumerate(generated):
                values, top_ids = logprobs[step].topk(top_logprobs) if top_logprobs else ([], [])
                top = [(self.tokenizer.convert_ids_to_tokens(int(t)) or "", float(v))
                       for v, t in zip(values, top_ids) if math.isfinite(float(v))]
                entries.append((float(logprobs[step, token_id]), top))
        return Choice(text, "stop" if eos in row else "length", tokens, entries)


@dataclass
class Call:
    path: str
    body: dict
    authorization: str | None


@dataclass
class OpenAIServer:
    """The server and its knobs; `with OpenAIServer(...) as server:` starts it on a free port."""

    model_dir: Path | None = None
    model_name: str = "tiny"
    answer: str = "the answer is"
    latency: float | Callable[[dict], float] = 0.0
    api_key: str | None = None
    basic_auth: tuple[str, str] | None = None
    max_n: int | None = None
    ignore_n: bool = False
    retry_after: float | None = 0.05
    hang_s: float = 2.0
    calls: list[Call] = field(default_factory=list)
    max_in_flight: int = 0
    usage: collections.Counter = field(default_factory=collections.Counter)

    def __post_init__(self) -> None:
        self.engine = ModelEngine(self.model_dir) if self.model_dir else CannedEngine(self)
        self._faults: collections.deque[str] = collections.deque()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._http: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        if self._http is None:
            raise RuntimeError("the server is not started")
        return f"http://127.0.0.1:{self._http.server_address[1]}/v1"

    def script(self, *faults: str) -> None:
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {FAULTS}")
        with self._lock:
            self._faults.extend(faults)

    def start(self) -> "OpenAIServer":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def do_POST(self) -> None:
                owner._serve(self)

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    owner._send(self, 200, {"object": "list", "data": [{"id": owner.model_name, "object": "model"}]})
                else:
                    owner._send(self, 404, _error(f"no route GET {self.path}"))

            def log_message(self, *args: Any) -> None:
                pass

        self._http = _HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True, name="openai-server").start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    def __enter__(self) -> "OpenAIServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        authorization = handler.headers.get("Authorization")
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            fault = self._faults.popleft() if self._faults else None
        try:
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError as exc:
                return self._send(handler, 400, _error(f"the body is not JSON: {exc}"))
            with self._lock:
                self.calls.append(Call(handler.path, body, authorization))
            if fault == "429":
                headers = {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
                return self._send(handler, 429, _error("rate limit reached, slow down", "rate_limit_exceeded"), headers)
            if fault == "500":
                return self._send(handler, 500, _error("the server had an error", "server_error"))
            if fault == "leak":
                return self._send(handler, 400, _error(f"bad header: {authorization}"))
            if fault == "echo":
                return self._send(handler, 400, _error(f"bad request; headers: {json.dumps(dict(handler.headers))}"))
            if fault == "hang":
                time.sleep(self.hang_s)
            if self.api_key is not None and authorization != f"Bearer {self.api_key}":
                return self._send(handler, 401, _error("incorrect API key provided", "invalid_api_key"))
            if self.basic_auth is not None and authorization != _basic(*self.basic_auth):
                return self._send(handler, 401, _error(f"bad credentials: {authorization}", "invalid_credentials"))
            try:
                status, payload = 200, self._complete(handler.path, body)
            except RequestError as exc:
                status, payload = exc.status, _error(exc.message, param=exc.param)
            self._send(handler, status, payload)
        except OSError:
            pass  # the client gave up (a timeout): nobody is listening for the answer
        finally:
            with self._lock:
                self._in_flight -= 1

    def _complete(self, path: str, body: dict) -> dict:
        chat = path.rstrip("/") == "/v1/chat/completions"
        if not chat and path.rstrip("/") != "/v1/completions":
            raise RequestError(404, f"no route POST {path}")
        if body.get("model") != self.model_name:
            raise RequestError(404, f"the model `{body.get('model')}` does not exist", "model")
        n = body.get("n", 1)
        if not isinstance(n, int) or n < 1:
            raise RequestError(400, f"n must be a positive integer, got {n!r}", "n")
        if self.max_n is not None and n > self.max_n:
            raise RequestError(400, f"n must be at most {self.max_n}", "n")
        temperature = body.get("temperature", 1.0)
        if not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2:
            raise RequestError(400, f"temperature must be between 0 and 2, got {temperature!r}", "temperature")
        if body.get("stop"):
            raise RequestError(400, "stop sequences are not supported by this test server", "stop")
        if chat:
            messages = body.get("messages")
            if not isinstance(messages, list) or not messages:
                raise RequestError(400, "messages must be a non-empty list", "messages")
            prompt = "\n".join(str(m.get("content", "")) for m in messages)
            top = body.get("top_logprobs", 0) if body.get("logprobs") else None
        else:
            if not isinstance(body.get("prompt"), str):
                raise RequestError(400, "prompt must be a string", "prompt")
            prompt, top = body["prompt"], body.get("logprobs")
        if top is not None and not (isinstance(top, int) and 0 <= top <= MAX_TOP_LOGPROBS):
            raise RequestError(400, f"top logprobs must be between 0 and {MAX_TOP_LOGPROBS}, got {top!r}", "logprobs")
        answer = self.engine.complete(body, prompt, 1 if self.ignore_n else n, top)
        usage = {"prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens,
                 "total_tokens": answer.prompt_tokens + answer.completion_tokens}
        with self._lock:
            self.usage.update(usage)
        choices = [(_chat_choice if chat else _text_choice)(i, c) for i, c in enumerate(answer.choices)]
        return {"id": f"cmpl-{len(self.calls)}", "object": "chat.completion" if chat else "text_completion",
                "created": int(time.time()), "model": self.model_name, "choices": choices, "usage": usage}

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, payload: dict, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default 5 refuses connections when a client opens 32 at once


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _error(message: str, kind: str = "invalid_request_error", param: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "param": param, "code": None}}


def _chat_choice(index: int, choice: Choice) -> dict:
    logprobs = None
    if choice.logprobs is not None:
        logprobs = {"content": [
            {"token": token, "logprob": lp, "bytes": list(token.encode()),
             "top_logprobs": [{"token": t, "logprob": v, "bytes": list(t.encode())} for t, v in top]}
            for token, (lp, top) in zip(choice.tokens, choice.logprobs)]}
    return {"index": index, "message": {"role": "assistant", "content": choice.text},
            "finish_reason": choice.finish_reason, "logprobs": logprobs}


def _text_choice(index: int, choice: Choice) -> dict:
    logprobs = None
    if choice.logprobs is not None:
        logprobs = {"tokens": choice.tokens, "token_logprobs": [lp for lp, _ in choice.logprobs],
                    "top_logprobs": [dict(top) for _, top in choice.logprobs], "text_offset": None}
    return {"index": index, "text": choice.text, "finish_reason": choice.finish_reason, "logprobs": logprobs}


def build_tiny_model(path: Path) -> Path:
    """A 2-layer GPT-2 with random weights and a word-level tokenizer trained here (offline): the
    lm-eval fixture's model (tests/ingest/lm_eval_fixture/build.py), loaded from its file because
    that folder is not on the import path of other test folders."""
    spec = importlib.util.spec_from_file_location("lm_eval_fixture_build", LM_EVAL_FIXTURE_BUILD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.save_model(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model-dir", type=Path, help="serve this transformers model")
    source.add_argument("--tiny-model", type=Path, help="build a tiny random model here and serve it")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per call without a model")
    parser.add_argument("--model-name", default="tiny")
    args = parser.parse_args()
    model_dir = build_tiny_model(args.tiny_model) if args.tiny_model else args.model_dir
    server = OpenAIServer(model_dir=model_dir, model_name=args.model_name, latency=args.latency).start()
    print(f"listening on {server.url}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()

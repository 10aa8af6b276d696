"""The openai backend: any OpenAI-compatible HTTP endpoint (OpenAI, vLLM's server, ...).

`generate` runs an asyncio loop on a worker thread and yields each request's samples as its
answer arrives. At most `concurrency` HTTP calls are in flight. 429, 5xx (and 408, 409, as the
OpenAI SDK does), timeouts and dropped connections are retried up to `max_retries` times,
waiting the server's Retry-After when it sends one, else `backoff * 2**attempt` seconds (at
most `max_backoff`) times a random factor in [0.5, 1]; any other 4xx fails at once with the
status and the server's message. When a request fails for good, the calls in flight still
finish and are yielded, then the error is raised.

`base_url` ends where the OpenAI SDK's does (`http://host:8000/v1`); `chat=True` posts
`messages` to chat/completions, `chat=False` a raw `prompt` to completions. n samples go in one
call (`n`); a server that refuses n > 1 (a 400 about `n`) or answers with fewer choices gets one
call per missing sample, seeded `seed + i`, and so does every later request. `extra_body` is
merged into every call: server-specific settings such as vLLM's top_k or min_p, which OpenAI's
own API refuses. A request's `decoding` rules need our processor, so they are refused here.

The key is read from the environment variable `api_key_env` when a run starts and sent only in the
Authorization header (`Bearer`). Credentials in the URL (`http://user:pass@host/v1`, for a server
behind HTTP Basic auth) are taken out of it and sent as `Basic` instead of any key (Authorization
holds one credential), so the key's variable need not be set then. Neither reaches a repr, a config
or an error message: `base_url` as kept and shown has no userinfo, and every message passes through
`warehouse.redact` after the key, the password and the Basic token are replaced by `***` (a server
that echoes the header back in its error body included).

What the API gives exactly, and what is estimated:
- num_tokens is exact when the choice has logprobs (one entry per token) or the call asked for one
  sample (usage.completion_tokens); for several choices without logprobs, completion_tokens is
  split over them in proportion to their text length (`split_tokens`: an estimate whose sum is
  exact); with no usage either, the total is estimated as one token per 4 characters.
- token_log (`log_tokens`): pos, logprob (as the server reports it: the distribution it sampled
  from on servers that say so; raw model logprobs on vLLM by default), topk_logprobs and
  top1_prob are exact; rank is exact when fewer than `top_logprobs` listed tokens beat the chosen
  one, else null; entropy is the sum of -p log p over the listed tokens, a lower bound of the
  full entropy; temperature_eff is the requested temperature; token_id, kept_k and the topk_ids
  (the API returns token strings, not ids) are null. A server that sends no logprobs leaves
  token_log None.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import itertools
import math
import os
import queue
import random
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import httpx2

from generation.backends.base import TOKEN_LOG_COLUMNS, GenRequest, GenSample
from warehouse.errors import WarehouseError
from warehouse.redact import MASK, redact

RETRIED_STATUSES = frozenset({408, 409, 429}) | frozenset(range(500, 600))
CHARS_PER_TOKEN = 4  # the usual rule of thumb for English text, used only when a server reports no usage
_N_REFUSED = re.compile(r"\bn\b|num_choices|multiple (choices|completions)", re.IGNORECASE)


class APIError(WarehouseError, RuntimeError):
    """A call the server refused for good: its HTTP status (None for a network failure) and message
    (credentials masked). A WarehouseError: the user fixes it (key, URL, request), so it prints as one line."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass
class Usage:
    """Counters over the backend's lifetime, for progress bars and cost."""

    requests: int = 0  # GenRequests answered
    calls: int = 0  # HTTP calls made, retries and fallback calls included
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def cost(self, input_per_million: float, output_per_million: float) -> float:
        """The bill at these prices per million prompt and completion tokens."""
        return (self.prompt_tokens * input_per_million + self.completion_tokens * output_per_million) / 1e6


class OpenAIBackend:
    """Answers GenRequests through an OpenAI-compatible endpoint; see the module docstring."""

    name = "openai"

    def __init__(self, *, model: str, base_url: str, api_key_env: str | None = "OPENAI_API_KEY",
                 concurrency: int = 8, max_retries: int = 5, timeout: float = 60.0, chat: bool = True,
                 top_logprobs: int = 5, backoff: float = 1.0, max_backoff: float = 60.0,
                 extra_body: dict[str, Any] | None = None, **_ignored: Any):
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be at least 0, got {max_retries}")
        base_url, self._credentials = split_credentials(base_url)
        if api_key_env and not self._credentials and not os.environ.get(api_key_env):
            raise ValueError(f"the openai backend reads its API key from the environment variable "
                             f"{api_key_env}, which is not set (an empty api_key_env for a server without keys)")
        self.model, self.base_url, self.api_key_env = model, base_url.rstrip("/"), api_key_env
        self.concurrency, self.max_retries, self.timeout, self.chat = concurrency, max_retries, timeout, chat
        self.top_logprobs, self.backoff, self.max_backoff = top_logprobs, backoff, max_backoff
        self.extra_body = dict(extra_body or {})
        self.usage = Usage()
        self._one_per_call = False  # set once the server refuses or ignores n > 1

    def __repr__(self) -> str:
        return (f"OpenAIBackend(model={self.model!r}, base_url={self.base_url!r}, api_key_env={self.api_key_env!r}, "
                f"concurrency={self.concurrency}, chat={self.chat})")

    def close(self) -> None:
        """Nothing to release: each `generate` opens and closes its own connections."""

    def generate(self, requests: Sequence[GenRequest]) -> Iterator[tuple[GenRequest, list[GenSample]]]:
        requests = list(requests)
        for request in requests:
            self._check(request)
        results: queue.SimpleQueue = queue.SimpleQueue()
        loop = asyncio.new_event_loop()
        task = loop.create_task(self._run(requests, results.put))
        worker = threading.Thread(target=_drive, args=(loop, task, results), daemon=True, name="openai-backend")
        worker.start()
        try:
            while (item := results.get()) is not _FINISHED:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            if not task.done():  # the caller stopped early: cancel what is in flight
                try:
                    loop.call_soon_threadsafe(task.cancel)
                except RuntimeError:
                    pass  # the loop closed in between
            worker.join()

    def _check(self, request: GenRequest) -> None:
        if self.chat and request.messages is None:
            raise ValueError(f"request {request.request_id}: the chat endpoint takes messages, not a raw prompt "
                             f"(set chat: false to post raw prompts to the completions endpoint)")
        if not self.chat and request.prompt is None:
            raise ValueError(f"request {request.request_id}: the completions endpoint takes a raw prompt "
                             f"(set chat: true to send messages, or use a prompt template)")
        if request.decoding and any(v is not None for v in request.decoding.values()):
            raise ValueError(f"request {request.request_id}: the openai backend samples with temperature and top_p "
                             f"only; the decoding rules {sorted(request.decoding)} need the hf or vllm backend")

    async def _run(self, requests: list[GenRequest], emit) -> None:
        key = self._key()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        auth = httpx2.BasicAuth(*self._credentials.pair) if self._credentials else None
        # calls wait for a slot here, not in httpx's connection pool, where waiting counts against the timeout;
        # live bounds the requests being worked on, so that a long list does not become a task each at once
        calls, live = asyncio.Semaphore(self.concurrency), asyncio.Semaphore(self.concurrency)
        failures: list[BaseException] = []

        async def answer(client, request: GenRequest) -> None:
            try:
                samples = await self._answer(client, calls, request)
                self.usage.requests += 1
                emit((request, samples))
            except Exception as exc:  # noqa: BLE001 - reported after the calls in flight finish
                failures.append(exc)
            finally:
                live.release()

        async with httpx2.AsyncClient(base_url=self.base_url + "/", headers=headers, auth=auth, timeout=self.timeout,
                                      limits=httpx2.Limits(max_connections=self.concurrency)) as client:
            async with asyncio.TaskGroup() as group:
                for request in requests:
                    await live.acquire()
                    if failures:
                        break
                    group.create_task(answer(client, request))
        if failures:
            raise failures[0]

    async def _answer(self, client, calls: asyncio.Semaphore, request: GenRequest) -> list[GenSample]:
        samples: list[GenSample] = []
        if not self._one_per_call:
            try:
                samples = self._samples(request, await self._post(client, calls, request, request.n, request.seed))
            except APIError as exc:
                if not (request.n > 1 and exc.status == 400 and _refuses_n(exc)):
                    raise
                self._one_per_call = True
            if request.n > 1 and len(samples) < request.n:
                self._one_per_call = True
        missing = range(len(samples), request.n)
        seeds = [None if request.seed is None else request.seed + i for i in missing]
        singles = await asyncio.gather(*(self._post(client, calls, request, 1, seed) for seed in seeds))
        for body in singles:
            samples += self._samples(request, body)[:1]
        if len(samples) < request.n:
            raise APIError(f"request {request.request_id}: the server answered {len(samples)} of {request.n} samples")
        return samples

    def _payload(self, request: GenRequest, n: int, seed: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "n": n, "temperature": request.temperature,
                                "top_p": request.top_p, "max_tokens": request.max_tokens}
        if self.chat:
            body["messages"] = [dict(m) for m in request.messages]
        else:
            body["prompt"] = request.prompt
        if seed is not None:
            body["seed"] = seed
        if request.stop:
            body["stop"] = list(request.stop)
        if request.log_tokens:
            body["logprobs"] = True if self.chat else self.top_logprobs
            if self.chat:
                body["top_logprobs"] = self.top_logprobs
        return body | self.extra_body

    async def _post(self, client, calls: asyncio.Semaphore, request: GenRequest, n: int, seed: int | None) -> dict:
        path = "chat/completions" if self.chat else "completions"
        where = f"request {request.request_id}: POST {self.base_url}/{path}"
        payload = self._payload(request, n, seed)
        for attempt in itertools.count():
            wait = None
            async with calls:
                self.usage.calls += 1
                try:
                    response = await client.post(path, json=payload)
                except (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError) as exc:
                    timed_out = isinstance(exc, httpx2.TimeoutException)
                    failure = type(exc).__name__ + (f" (timeout {self.timeout:g} s)" if timed_out else f": {exc}")
                    status = None
                else:
                    if response.status_code < 300:
                        return self._body(response, where)
                    status = response.status_code
                    failure = f"HTTP {status}: {_message(response)}"
                    if status not in RETRIED_STATUSES:
                        raise APIError(self._redact(f"{where} failed: {failure}"), status) from None
                    wait = retry_after_seconds(response.headers.get("Retry-After"))
            if attempt == self.max_retries:
                raise APIError(self._redact(f"{where} gave up after {attempt + 1} attempts; the last: {failure}"),
                               status) from None
            self.usage.retries += 1
            if wait is None:
                wait = min(self.max_backoff, self.backoff * 2 ** attempt) * random.uniform(0.5, 1.0)
            await asyncio.sleep(wait)

    def _body(self, response, where: str) -> dict:
        try:
            body = response.json()
            choices = body["choices"]
        except (ValueError, KeyError, TypeError):
            raise APIError(self._redact(f"{where}: the answer is not an OpenAI completion: {response.text[:300]!r}"),
                           response.status_code) from None
        if not isinstance(choices, list):
            raise APIError(self._redact(f"{where}: `choices` is not a list"), response.status_code)
        usage = body.get("usage") or {}
        self.usage.prompt_tokens += int(usage.get("prompt_tokens") or 0)
        self.usage.completion_tokens += int(usage.get("completion_tokens") or 0)
        return body

    def _samples(self, request: GenRequest, body: dict) -> list[GenSample]:
        choices = sorted(body["choices"], key=lambda c: c.get("index", 0))
        texts = [_text(c, self.chat) for c in choices]
        logs = [_token_entries(c.get("logprobs")) if request.log_tokens else None for c in choices]
        total = (body.get("usage") or {}).get("completion_tokens")
        if total is None:
            total = math.ceil(sum(map(len, texts)) / CHARS_PER_TOKEN)
        if all(log is not None for log in logs):
            counts = [len(log) for log in logs]
        elif len(choices) == 1:
            counts = [int(total)]
        else:
            counts = split_tokens(int(total), texts)
        return [GenSample(text=text, num_tokens=count, finish_reason=c.get("finish_reason") or "unknown",
                          token_log=None if log is None else token_log(log, self.top_logprobs, request.temperature))
                for c, text, log, count in zip(choices, texts, logs, counts)]

    def _key(self) -> str | None:
        """The API key to send: none when the URL carries credentials (they go as Basic)."""
        if self._credentials or not self.api_key_env:
            return None
        return os.environ.get(self.api_key_env) or None

    def _redact(self, text: str) -> str:
        """A message with this backend's own secrets replaced, then every credential form masked."""
        secrets = [self._key()] + (self._credentials.secrets() if self._credentials else [])
        for secret in secrets:
            # a secret shorter than 4 characters would mask ordinary words; redact() still masks it in URLs and headers
            if secret and len(secret) >= 4:
                text = text.replace(secret, MASK)
        return redact(text)


class _Credentials:
    """The user and password taken out of a base URL; the default object repr shows neither."""

    def __init__(self, user: str, password: str):
        self.pair = (user, password)

    def secrets(self) -> list[str]:
        """What must never show, longest first: the Basic token as sent, user:password and the password;
        a user alone is often a token (`https://TOKEN@host`), so it is one then. A user beside a
        password is not masked word by word: `redact` masks URL userinfo and Authorization values whole."""
        user, password = self.pair
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return [token, f"{user}:{password}", password or user]


def split_credentials(base_url: str) -> tuple[str, _Credentials | None]:
    """(the URL without userinfo, its user and password, or None when it has none)."""
    try:
        url = httpx2.URL(base_url)
    except (httpx2.InvalidURL, TypeError) as exc:
        raise ValueError(f"base_url {redact(str(base_url))!r} is not a URL ({redact(str(exc))})") from None
    if not url.userinfo:
        return base_url, None
    return str(url.copy_with(username=None, password=None)), _Credentials(url.username, url.password)


_FINISHED = object()


def _drive(loop: asyncio.AbstractEventLoop, task: asyncio.Task, results: queue.SimpleQueue) -> None:
    """The worker thread: run the loop until the task ends, hand over its error, then the end mark."""
    try:
        loop.run_until_complete(task)
    except asyncio.CancelledError:
        pass
    except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
        results.put(exc)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        results.put(_FINISHED)


def _message(response) -> str:
    """The server's own words: error.message of an OpenAI error body, else the start of the body."""
    try:
        error = response.json().get("error")
        message = error.get("message") if isinstance(error, dict) else error
        if message:
            param = error.get("param") if isinstance(error, dict) else None
            return f"{message} (param: {param})" if param else str(message)
    except (ValueError, AttributeError):
        pass
    return response.text[:300] or response.reason_phrase


def _refuses_n(error: APIError) -> bool:
    return bool(_N_REFUSED.search(str(error).rsplit("HTTP 400:", 1)[-1]))


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
        return max(0.0, seconds) if math.isfinite(seconds) else None
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def split_tokens(total: int, texts: Sequence[str]) -> list[int]:
    """Split `total` tokens over texts in proportion to their length; the remainder goes to the largest
    fractional shares (the earlier text on ties); equal shares when every text is empty."""
    weights = [len(t) for t in texts] if any(texts) else [1] * len(texts)
    shares = [total * w / sum(weights) for w in weights]
    counts = [math.floor(s) for s in shares]
    by_fraction = sorted(range(len(texts)), key=lambda i: (-(shares[i] - counts[i]), i))
    for i in by_fraction[:total - sum(counts)]:
        counts[i] += 1
    return counts


def _text(choice: dict, chat: bool) -> str:
    return ((choice.get("message") or {}).get("content") if chat else choice.get("text")) or ""


def _token_entries(logprobs: dict | None) -> list[tuple[float, dict[str, float]]] | None:
    """Per token (its logprob, {listed token: logprob}) from a chat or completions logprobs object."""
    if not logprobs:
        return None
    if "content" in logprobs:  # chat: [{token, logprob, top_logprobs: [{token, logprob}]}]
        return [(e["logprob"], {t["token"]: t["logprob"] for t in e.get("top_logprobs") or []})
                for e in logprobs["content"] or []]
    token_logprobs = logprobs.get("token_logprobs") or []  # completions: parallel lists
    tops = logprobs.get("top_logprobs") or [None] * len(token_logprobs)
    return [(lp, top or {}) for lp, top in zip(token_logprobs, tops)]


def token_log(entries: list[tuple[float, dict[str, float]]], k: int, temperature: float) -> dict[str, list]:
    """token_traces columns from per-token (logprob, {listed token: logprob}), `k` tokens asked for.

    Some servers (vLLM) list the chosen token beside the top k, so a token beaten by k listed ones
    has an unknown rank; the entropy sums over every distinct listed token (still a lower bound)."""
    log: dict[str, list] = {column: [] for column in TOKEN_LOG_COLUMNS}
    for pos, (logprob, listed) in enumerate(entries):
        top = sorted((v for v in listed.values() if v > -math.inf), reverse=True)
        beaten_by = sum(1 for v in top if v > logprob)
        log["pos"].append(pos)
        log["token_id"].append(None)
        log["logprob"].append(logprob)
        log["rank"].append(beaten_by + 1 if beaten_by < k else None)
        log["top1_prob"].append(math.exp(max(top[:1] + [logprob])))
        log["entropy"].append(-sum(math.exp(v) * v for v in top))
        log["kept_k"].append(None)
        log["temperature_eff"].append(temperature)
        log["topk_ids"].append([None] * len(top[:k]))
        log["topk_logprobs"].append(top[:k])
    return log

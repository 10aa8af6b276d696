"""The math-verify grader: is an answer key equivalent to a gold key?

`verify_pair` runs inside a worker process (see `ingest.grading.pool`). Both keys are wrapped in
`\\boxed{}` so that math-verify's LaTeX extraction takes the whole key as one expression (a bare
key such as `\\sqrt{51}` or `p - q` would otherwise often not be extracted at all). The gold goes
first: math-verify is asymmetric. Its own signal-based timeouts are switched off; the pool's
hard per-pair timeout, which kills the worker, is the only limit, so a slow pair is reported as
`timeout` rather than silently graded wrong.

A verdict is valid for one grader version: change `GRADER_REVISION` whenever the answer keys,
the wrapping or the verify options change, and every pair is verified again. Keys are keyed
again (`answer_key` is idempotent) before parsing, so a key stored by an older `normalize` is
verified under today's rules. Revisions: `ttsw1` the first; `ttsw2` braces unbraced `^`/`_`
arguments (`4^\\frac{3}{2}` was read as `3/2`); `ttsw3` never parses a key past
`MAX_ANSWER_CHARS` (status `too_long`; before, such a pair was parsed, hung or crashed the grade).

A key past `MAX_ANSWER_CHARS` is never parsed: the pair's status is `too_long`, decided without
a worker (`verdicts.verify_pairs`) and again here, so no caller can hand one to math-verify.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib.metadata import version

from math_verify import parse, verify

from ingest.grading.normalize import answer_key, too_long

GRADER = "math_verify"
GRADER_REVISION = "ttsw3"
GRADER_VERSION = f"math-verify {version('math-verify')}+{GRADER_REVISION}"

# Verdict statuses. `timeout`: the pair ran past the hard limit (retried under a longer one);
# `parse_error`: math-verify read nothing in a key; `too_long`: a key past `MAX_ANSWER_CHARS`,
# never parsed; `error`: the grader raised an exception or its worker died. All but `ok` record
# is_correct = false. A sample without an answer has no pair and so no verdict row; reports give
# it the status `no_answer` (and it counts as wrong).
OK, TIMEOUT, PARSE_ERROR, TOO_LONG, ERROR, NO_ANSWER = "ok", "timeout", "parse_error", "too_long", "error", "no_answer"

# math-verify warns once per process that its timeouts are off; the pool enforces them.
logging.getLogger("math_verify").setLevel(logging.ERROR)


def as_latex(key: str) -> str:
    """The text math-verify parses for a key."""
    return f"\\boxed{{{key}}}"


def math_verify_parse(text: str) -> list:
    """math-verify's extraction and parse of `text`, without its signal timeout (the pool's applies)."""
    return parse(text, parsing_timeout=None)


@lru_cache(maxsize=8192)
def parsed(key: str) -> tuple:
    """math-verify's reading of a key (cached: pairs come sorted by gold, answers repeat)."""
    return tuple(math_verify_parse(as_latex(answer_key(key) or key)))


def verify_pair(pair: tuple[str, str]) -> tuple[bool, str]:
    """(is_correct, status) for a (gold_key, answer_key) pair; status is ok, parse_error or too_long."""
    if any(too_long(key) for key in pair):
        return False, TOO_LONG
    gold, answer = (parsed(key) for key in pair)
    if not gold or not answer:
        return False, PARSE_ERROR
    return bool(verify(list(gold), list(answer), timeout_seconds=None)), OK

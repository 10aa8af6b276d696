"""The math-verify grader on real MATH-500 golds, and the pool that enforces its hard timeout."""

from __future__ import annotations

import signal
import time

import pytest

from ingest.grading.normalize import answer_key
from ingest.grading.pool import CRASHED, DONE, TIMED_OUT, HardTimeoutPool
from ingest.grading.verify import GRADER, GRADER_VERSION, OK, PARSE_ERROR, verify_pair


def _verdict(gold: str, answer: str) -> tuple[bool, str]:
    return verify_pair((answer_key(gold), answer_key(answer)))


@pytest.mark.parametrize("gold, answer", [
    ("\\frac{14}{3}", "14/3"),
    ("3\\sqrt{13}", "\\sqrt{117}"),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi/2)"),
    ("p - q", "-q + p"),
    ("\\text{Evelyn}", "Evelyn"),
    ("\\text{(C)}", "C"),
    ("90^\\circ", "90"),
    ("6 - 5i", "-5i + 6"),
    ("1,-2", "-2, 1"),
    ("1.25", "\\frac{5}{4}"),
    ("\\dfrac{17}{50}", "0.34"),
    ("\\frac{3}{2}", "1.5"),
    ("x=5", "5"),
    ("\\left(\\frac{3}{5},\\frac{8}{3}\\right]", "(0.6, 8/3]"),
])
def test_equivalent_forms_of_math500_golds(gold, answer, math500_table):
    assert gold in math500_table.column("gold_answer").to_pylist()
    assert _verdict(gold, answer) == (True, OK)


@pytest.mark.parametrize("gold, answer", [
    ("\\frac{14}{3}", "\\frac{3}{14}"),
    ("3\\sqrt{13}", "\\sqrt{39}"),
    ("\\text{Evelyn}", "\\text{Navin}"),
    ("\\pi", "3.14"),
    ("(3,\\frac{\\pi}{2})", "(\\frac{\\pi}{2},3)"),
])
def test_wrong_answers(gold, answer):
    assert _verdict(gold, answer) == (False, OK)


@pytest.mark.parametrize("gold, answer, correct", [
    # real: mert-cemri beam search, test/algebra/1265 (gold 3/2), completion 7 boxes 4^\frac{3}{2} = 8
    ("\\frac{3}{2}", "4^\\frac{3}{2}", False),
    ("8", "4^\\frac{3}{2}", True),
    ("8", "4^\\frac32", True),
    ("\\frac{\\sqrt{2}}{2}", "2^-\\frac{1}{2}", True),
    ("2^{\\sqrt{2}}", "2^\\sqrt2", True),
    ("2^{\\sqrt[3]{2}}", "2^\\sqrt[3]{2}", True),
])
def test_unbraced_exponents_are_read_as_tex_reads_them(gold, answer, correct):
    assert _verdict(gold, answer) == (correct, OK)


def test_keys_stored_by_an_older_normalize_are_keyed_again():
    assert verify_pair(("8", "4^\\frac{3}{2}")) == (True, OK)  # the raw key, as ttsw1 stored it


def test_an_unparseable_answer_is_a_parse_error():
    assert verify_pair(("5", "}{")) == (False, PARSE_ERROR)


def test_grader_version_names_math_verify():
    from importlib.metadata import version

    assert GRADER == "math_verify"
    assert GRADER_VERSION == f"math-verify {version('math-verify')}+ttsw3"


def _sleep_deaf(seconds: float) -> float:
    """Block every signal, then sleep: like a worker stuck in C code, only SIGKILL ends it."""
    signal.pthread_sigmask(signal.SIG_BLOCK, set(signal.Signals) - {signal.SIGKILL, signal.SIGSTOP})
    time.sleep(seconds)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, set(signal.Signals) - {signal.SIGKILL, signal.SIGSTOP})
    return seconds


def _die_on_negative(seconds: float) -> float:
    if seconds < 0:
        import os

        os._exit(3)
    return seconds


def test_pool_kills_a_stuck_worker_and_carries_on():
    items = [0.0, 30.0, 0.01, 30.0, 0.02, 0.0]
    started = time.monotonic()
    with HardTimeoutPool(_sleep_deaf, workers=2, timeout=0.5, warmup=0.0) as pool:
        outcomes = list(pool.imap_unordered(items))
        replaced = pool.replaced
    assert time.monotonic() - started < 15
    assert sorted(o.item for o in outcomes) == sorted(items)
    for outcome in outcomes:
        if outcome.item == 30.0:
            assert outcome.state == TIMED_OUT and outcome.result is None and 0.5 <= outcome.seconds < 5
        else:
            assert outcome.state == DONE and outcome.result == outcome.item
    assert replaced == 2


def test_pool_reports_a_worker_that_dies_and_replaces_it():
    with HardTimeoutPool(_die_on_negative, workers=1, timeout=5, warmup=0.0) as pool:
        outcomes = {o.item: o for o in pool.imap_unordered([1.0, -1.0, 2.0])}
    assert outcomes[-1.0].state == CRASHED
    assert outcomes[1.0].state == outcomes[2.0].state == DONE


def test_pathological_pair_times_out_instead_of_stalling():
    with HardTimeoutPool(verify_pair, workers=1, timeout=1.0, warmup=("1", "1"),
                         preload=["ingest.grading.verify"]) as pool:
        started = time.monotonic()
        outcomes = {o.item: o for o in pool.imap_unordered([("5", "10^{10^{10^{10}}}"), ("\\frac{1}{2}", "0.5")])}
        elapsed = time.monotonic() - started
    assert outcomes[("5", "10^{10^{10^{10}}}")].state == TIMED_OUT
    assert outcomes[("\\frac{1}{2}", "0.5")].result == (True, OK)
    assert elapsed < 10

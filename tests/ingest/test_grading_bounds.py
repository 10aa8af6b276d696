"""Grading is bounded on untrusted text: length caps, linear patterns, failures kept to their item."""

from __future__ import annotations

import time

import pytest

from ingest.grading.extract import extract_boxed
from ingest.grading.extractors import CHOICE, GSM8K
from ingest.grading.normalize import MAX_ANSWER_CHARS, answer_key, too_long
from ingest.grading.numeric import numeric_value
from ingest.grading.pool import DONE, FAILED, HardTimeoutPool
from ingest.grading.unionfind import UnionFind
from ingest.grading.verify import TOO_LONG, verify_pair

MEGABYTE = 1_000_000

# Each was quadratic or worse before: seconds to hours at these sizes (measured: 8,000 dots took
# 0.4 s to key, 800 spaces after "answer" 1.9 s to read as a choice).
ADVERSARIAL = {
    "dots then a letter": "." * MEGABYTE + "x",
    "spaces after 'answer'": "answer" + " " * MEGABYTE + "1",
    "spaces after 'the answer is'": "the answer is " + " " * MEGABYTE + "x",
    "'answer is' repeated": "the answer is " * (MEGABYTE // 14),
    "spaces before a script": "x^" + " " * MEGABYTE + "y",
    "unclosed boxes": "\\boxed{" * (MEGABYTE // 7),
    "nested braces": "\\boxed{" + "{" * 10_000 + "}" * 10_000 + "}",
}


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_every_main_process_step_is_fast_on_a_megabyte_of_adversarial_text(name):
    text = ADVERSARIAL[name]
    started = time.perf_counter()
    for extract in (extract_boxed, GSM8K.extract, CHOICE.extract):
        answer = extract(text)
        answer_key(answer)
    answer_key(text)
    answer_key(text[:MAX_ANSWER_CHARS])  # under the cap, every rewrite runs
    assert time.perf_counter() - started < 2.0, name


def test_the_linear_patterns_read_what_the_old_ones_read():
    assert GSM8K.extract("I thought the answer is 4. But the answer is 5.") == "5"
    assert GSM8K.extract("the answer is 3.5.\n") == "3.5"
    assert GSM8K.extract("The answer is:   \n 12 apples. Done") == "12 apples"
    assert CHOICE.extract("answer :  **(K)**") == "K"
    assert CHOICE.extract("The answer is A rectangle") is None
    assert answer_key("x^ \\frac12") == "x^{\\frac12}"
    assert answer_key("5\\;.") == "5"  # `\;` is a space; the dot after it goes too
    assert answer_key("x \\,.,; ") == "x"


def test_an_answer_past_the_cap_is_its_own_key_and_never_parsed():
    huge = "1" * 5_000  # past Python's 4,300-digit int-string limit
    assert too_long(huge) and not too_long("1" * MAX_ANSWER_CHARS)
    assert answer_key(huge) is huge and answer_key(" " + huge) == " " + huge  # kept exactly: idempotent
    assert numeric_value(huge) is None and numeric_value("1" * MAX_ANSWER_CHARS) == int("1" * MAX_ANSWER_CHARS)
    assert verify_pair(("5", huge)) == (False, TOO_LONG)
    assert verify_pair((huge, "5")) == (False, TOO_LONG)


def test_a_nul_in_an_answer_is_read_as_a_space_as_before():
    assert answer_key("\\frac\x003") == "\\frac 3"
    assert answer_key("1\x002") == "12"


def _fail_on_negative(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative: {x}")
    return x * 2


def test_an_item_that_raises_fails_alone_and_its_worker_carries_on():
    with HardTimeoutPool(_fail_on_negative, workers=1, timeout=10, warmup=0) as pool:
        outcomes = {o.item: o for o in pool.imap_unordered([1, -1, 2])}
        assert pool.replaced == 0
    assert (outcomes[1].state, outcomes[1].result) == (DONE, 2)
    assert (outcomes[-1].state, outcomes[-1].result) == (FAILED, "ValueError: negative: -1")
    assert (outcomes[2].state, outcomes[2].result) == (DONE, 4)


def test_union_find_handles_long_chains_without_recursion():
    sets = UnionFind()
    for i in range(50_000):
        sets.union(i + 1, i)
    assert list(sets.components()) == [50_000] and sets.find(0) == 50_000

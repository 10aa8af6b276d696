"""The extractors by name, and which one a run gets from its dataset.

- `boxed` (MATH-like datasets, the default): the last `\\boxed{…}`/`\\fbox{…}`.
- `gsm8k`: the last `#### …` line (GSM8K's reference format), else the last box, else the last
  "the answer is …"; thousands separators are dropped (`1,000` → `1000`).
- `choice` (multiple-choice datasets): a letter A–Z (MMLU-Pro+ has options up to L; the text
  alone does not say how many options there were, and a letter beyond them is simply wrong),
  from the last box that holds one (`\\boxed{C}`, `\\boxed{(C)}`, `\\boxed{\\text{(C)}}`), else
  from the last "answer is (C)" / "Answer: C" / "answer is **K**". A bare letter counts only when
  no word follows it, so "the answer is I think (C)" gives C and "Answer: A rectangle" nothing.

Each is a chain of finders, the first that finds wins. `boxed` and `gsm8k` fall back to
math-verify's extraction on the text's tail when the chain finds nothing; `choice` does not (a
stray number is no choice). A run's dataset name picks the extractor (`extractor_for_dataset`);
`ttsw grade --extractor NAME` overrides it for every run graded.

Completions are untrusted and may be megabytes long: every pattern here is linear in the text
(one pass, possessive quantifiers where whitespace runs meet), so a finder costs milliseconds
on a 1 MB completion.
"""

from __future__ import annotations

import re
from typing import Callable

from ingest.grading.extract import BOXED, Extractor, extract_boxed

Finder = Callable[[str], "str | None"]

_HASHES = re.compile(r"####[ \t]*(?P<answer>[^\n]*)")
# The answer runs to the line's end or its first `.` before a space or the end (stripped after).
# Possessive quantifiers: a long run of spaces after "answer" must not be retried position by
# position (the lazy form of this pattern was cubic in such a run).
_ANSWER_IS = re.compile(r"answer\s++is\s*+:?\s*+(?P<answer>(?:[^\n.]++|\.(?!\s|$))*+)", re.I | re.M)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_CHOICE_IN_BOX = re.compile(r"(?:\\text\{)?\(?(?P<letter>[A-Z])\)?\}?")
# "answer is (K)", "Answer: K.", "answer is **(K)**"; a bare letter must not start a word or
# sentence ("The answer is A rectangle", "answer: I think …").
_CHOICE_STATED = re.compile(
    r"answer(?:\s++is)?\s*+:?\s*+[$*]*+\s*+(?:\((?P<paren>[A-Za-z])\)|(?P<bare>[A-Za-z])(?![A-Za-z])(?!\s++[A-Za-z]))",
    re.I)


def _first_of(*finders: Finder) -> Finder:
    def find(text: str) -> str | None:
        for finder in finders:
            answer = finder(text)
            if answer is not None:
                return answer
        return None
    return find


def _last(pattern: re.Pattern, group: str = "answer") -> Finder:
    def find(text: str) -> str | None:
        last = None
        for last in pattern.finditer(text):
            pass
        return None if last is None else (last[group].strip() or None)
    return find


def _plain_number(finder: Finder) -> Finder:
    """The finder's answer without `$…$` and thousands separators."""
    def find(text: str) -> str | None:
        answer = finder(text)
        if answer is None:
            return None
        return _THOUSANDS.sub("", answer.strip().strip("$").strip()).rstrip(".") or None
    return find


def _boxed_choice(text: str) -> str | None:
    boxed = extract_boxed(text)
    letter = boxed and _CHOICE_IN_BOX.fullmatch(boxed)
    return letter["letter"] if letter else None


def _stated_choice(text: str) -> str | None:
    last = None
    for last in _CHOICE_STATED.finditer(text):
        pass
    return None if last is None else (last["paren"] or last["bare"]).upper()


GSM8K = Extractor("gsm8k", _plain_number(_first_of(_last(_HASHES), extract_boxed, _last(_ANSWER_IS))))
CHOICE = Extractor("choice", _first_of(_boxed_choice, _stated_choice), tail_fallback=False)
EXTRACTORS = {e.name: e for e in (BOXED, GSM8K, CHOICE)}

# (dataset name pattern, extractor): the first match wins; anything else is MATH-like.
_BY_DATASET = (
    (re.compile(r"gsm8k|gsm-?plus|gsm-?hard", re.I), GSM8K),
    (re.compile(r"mmlu|gpqa|(?<![a-z])arc(?![a-z])|aqua|commonsense|truthful|hellaswag|choice|mcq", re.I), CHOICE),
)


def extractor_for_dataset(dataset: str | None) -> Extractor:
    """The extractor a run on `dataset` gets: by name pattern, `boxed` by default."""
    for pattern, extractor in _BY_DATASET:
        if dataset and pattern.search(dataset):
            return extractor
    return BOXED



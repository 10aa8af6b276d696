"""The fallback extraction: the answer a completion's closing statement states, read from its tail.

Used when an extractor finds nothing (no box). `extract_tail` runs inside a worker of the
hard-timeout pool (answers.py starts it there); it is plain regex work on at most `TAIL_CHARS`
characters. Only the tail is read (`text_tail`: the last `TAIL_CHARS` characters, the cut moved
out of any `$…$`, `\\(…\\)` or `\\[…\\]` it would split, so delimiters still pair up).

A text without a box is often unfinished (cut at the token limit) or ends in a side remark, so
the fallback answers only from a statement that closes the text, and otherwise says None:

1. an answer phrase ("the final answer is: 94", "The answer is 12 apples", "Answer: $5$"), the
   last one in the tail, unless a step header follows it (the text went on working);
2. else the text's last sentence, when it is complete (ends in `.`, `!`, `?` or closing math) and
   is no step header (`## Step 5: …`, `Step 5:`) or list item (`1.`, `*`, `-`, `(2)`): the first
   quantity after its last copula outside math ("Therefore, the smallest value is $-1$." → `-1`,
   "John is 75 miles away … of those 4 hours." → `75`, "… = $<<40+24=64>>64." → `64`), or, in a
   sentence that opens with "Therefore", "Thus", "So", "Hence", "Finally", its last quantity.

A quantity is a math span (`$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]`) or a plain-text expression that
starts at a number ("2 + 2k", "27/64", "10%"); a number right after "step", "equation" or "case"
is a reference, never an answer. When a statement states a single word instead ("the final
direction is east."), the answer is `\\text{east}`. In a tail written with dollar amounts
("$64 for the 16 glasses"), `$` before a number is a currency sign, not math; GSM8K's calculator
annotations `<<40+24=64>>` are dropped first.
"""

from __future__ import annotations

import re

TAIL_CHARS = 600
_PAIRED = (("\\[", "\\]"), ("\\(", "\\)"))

_ANNOTATION = re.compile(r"<<[^<>\n]*>>")
_CURRENCY_AMOUNT = re.compile(r"(?<![\\$])\$\d[\d,]*(?:\.\d+)?(?=\s+[a-z]{2,}|[.,]?\s*$|[.,]\s)", re.M)
_CURRENCY_SIGN = re.compile(r"(?<![\\$])\$(?=\d)")
_MATH = re.compile(r"\$\$(?P<display>.+?)\$\$|\\\[(?P<bracket>.+?)\\\]|\\\((?P<paren>.+?)\\\)|\$(?P<inline>[^$]+)\$",
                   re.S)
_MASK = "\x01"

_HEADER = re.compile(r"^\s*(?:#+|\**\s*step\s*\d+\b)", re.I)
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]\s|\d+[.)]\s|\(\d+\)\s|\**\d+\.\**\s)")
_ANSWER_PHRASE = re.compile(r"(?:final\s+answer|\banswer)\**\s*(?:is\b\s*:?|:|=)", re.I)
# Searched without leading whitespace (a `\s*` that opens a search is quadratic in a run of spaces).
_CLOSER = re.compile(r"(?:I hope (?:it|this) is correct|I hope this helps|Hope this helps)\s*+[.!]?\s*+$", re.I)
_COMPLETE = re.compile(r"(?:[.!?]|\$|\\\]|\\\))[\s*]*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
_STATEMENT_END = re.compile(r"[.!?](?:\s|$)|\n")
_COPULA = re.compile(r"\b(?:is|are|was|were|equals|be)\b|=|:")
# A copula's clause ends at a comma, a semicolon or a subordinating word ("… is undefined when $x=0$").
_CLAUSE_END = re.compile(r",(?!\d)|;|\b(?:when|if|since|because|but|where|which|while|although|unless|after|before)\b",
                         re.I)
_WORDS = re.compile(r"[A-Za-z]{2,}")
_MAX_LEADING_WORDS = 3  # "is approximately equal to 5"
_CONCLUSION = re.compile(r"^\W*(?:therefore|thus|so|hence|finally|in conclusion|in total|overall)\b", re.I)
_REFERENCE = re.compile(r"\b(?:steps?|equations?|eq\.|case|part|line)\s*\(?\d+\)?", re.I)
_PLAIN = re.compile(
    r"(?:[-−(√]\s*)*(?:\d[\d,]*(?:\.\d+)?|\.\d+)"
    r"(?:[ \t]*(?:\d[\d,]*(?:\.\d+)?|\.\d+|[-+*/^×÷−=√π%()]|(?:sqrt|pi)(?![A-Za-z])|[A-Za-z](?![A-Za-z])))*")
_THOUSANDS = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_WORD_ANSWER = re.compile(r"^[\s*]*(?:the\s+)?(?P<word>[A-Za-z]{2,})[\s*]*[.!]?[\s*]*$", re.I)
_NOT_ANSWERS = {"correct", "incorrect", "wrong", "right", "true", "false", "not", "undefined", "unknown", "as",
                "that", "this", "it", "here", "below", "above", "given", "clear", "unclear", "none", "found"}


def text_tail(text: str) -> str:
    """The last `TAIL_CHARS` characters, starting outside math."""
    start = max(0, len(text) - TAIL_CHARS)
    if text.count("$", 0, start) % 2:
        start = text.find("$", start) + 1 or start
    for opening, closing in _PAIRED:
        if text.rfind(opening, 0, start) > text.rfind(closing, 0, start):
            close = text.find(closing, start)
            start = close + len(closing) if close >= 0 else start
    return text[start:]


def extract_tail(tail: str) -> str | None:
    """The answer the closing statement of `tail` states, else None (see the module docstring)."""
    line = _final_line(_clean(tail))
    if line is None:
        return None
    phrase = _last_answer_phrase(line)
    if phrase is not None:
        stated = _sentence_from(line, phrase)
        return _first_quantity(stated) or _word_answer(stated)
    if _HEADER.match(line) or _LIST_ITEM.match(line) or not _COMPLETE.search(line):
        return None
    sentence = _last_sentence(line)
    copula = _last_copula(sentence)
    if copula is not None:
        return _stated_quantity(sentence[copula:], conclusion=bool(_CONCLUSION.match(sentence)))
    if _CONCLUSION.match(sentence):
        return _last_quantity(sentence)
    return None


def _clean(tail: str) -> str:
    text = _ANNOTATION.sub("", tail)
    if _CURRENCY_AMOUNT.search(text):
        text = _CURRENCY_SIGN.sub("", text)
    return text.rstrip()


def _masked(text: str) -> str:
    """`text` with every math span replaced by `_MASK` characters (same length)."""
    return _MATH.sub(lambda m: _MASK * len(m.group()), text)


def _final_line(text: str) -> str | None:
    """The text's last non-empty line without a closing courtesy ("I hope it is correct.")."""
    lines = [line for line in text.splitlines() if line.strip()]
    while lines and _CLOSER.fullmatch(lines[-1].lstrip()):
        lines.pop()
    if not lines:
        return None
    closer = _CLOSER.search(lines[-1])
    return lines[-1] if closer is None else lines[-1][:closer.start()].rstrip()


def _last_answer_phrase(line: str) -> int | None:
    """Where the answer after the line's last answer phrase starts, else None."""
    last = None
    for last in _ANSWER_PHRASE.finditer(_masked(line)):
        pass
    return None if last is None else last.end()


def _sentence_from(text: str, start: int) -> str:
    """From `start` to the end of its sentence (math spans kept whole)."""
    end = _STATEMENT_END.search(_masked(text), start)
    return text[start:end.start() if end else len(text)]


def _last_sentence(line: str) -> str:
    starts = [0] + [m.end() for m in _SENTENCE_END.finditer(_masked(line))]
    return line[starts[-1]:]


def _stated_quantity(rest: str, conclusion: bool) -> str | None:
    """What a copula states: the first quantity of its clause, a few words in at most."""
    clause = _CLAUSE_END.search(_masked(rest))
    rest = rest[:clause.start()] if clause else rest
    quantities = _quantities(rest, with_start=True)
    if quantities:
        start, quantity = quantities[0]
        return quantity if len(_WORDS.findall(_masked(rest[:start]))) <= _MAX_LEADING_WORDS else None
    return _word_answer(rest) if conclusion else None


def _last_copula(sentence: str) -> int | None:
    last = None
    for last in _COPULA.finditer(_masked(sentence)):
        pass
    return None if last is None else last.end()


def _quantities(text: str, with_start: bool = False) -> list:
    """The quantities of `text` in order: math spans and plain expressions outside them
    (with `with_start`, as (position, quantity) pairs)."""
    found: list[tuple[int, str]] = []
    for math in _MATH.finditer(text):
        content = next(group for group in math.groups() if group is not None).strip()
        if content:
            found.append((math.start(), content))
    masked = _REFERENCE.sub(lambda m: _MASK * len(m.group()), _masked(text))
    for plain in _PLAIN.finditer(masked):
        expression = _tidy(plain.group())
        if expression:
            found.append((plain.start(), expression))
    found.sort()
    return found if with_start else [expression for _, expression in found]


def _tidy(expression: str) -> str | None:
    """A plain expression without trailing operators and unmatched brackets; None without a digit."""
    expression = expression.strip().rstrip("=+-*/^×÷−,. \t")
    depth = 0
    for i, char in enumerate(expression):
        depth += (char == "(") - (char == ")")
        if depth < 0:
            expression = expression[:i]
            break
    expression = expression.strip().rstrip("=+-*/^×÷−,. \t").lstrip("(") if depth > 0 else expression.strip()
    if _THOUSANDS.match(expression):
        expression = expression.replace(",", "")
    return expression if any(char.isdigit() for char in expression) else None


def _first_quantity(text: str) -> str | None:
    quantities = _quantities(text)
    return quantities[0] if quantities else None


def _last_quantity(text: str) -> str | None:
    quantities = _quantities(text)
    return quantities[-1] if quantities else None


def _word_answer(text: str) -> str | None:
    """A single word stated as the answer, as `\\text{word}`."""
    word = _WORD_ANSWER.match(text)
    if word is None or word["word"].lower() in _NOT_ANSWERS:
        return None
    return f"\\text{{{word['word']}}}"

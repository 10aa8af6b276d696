"""Answer keys: a canonical spelling of an answer, used only to dedupe before verification.

Two answers with the same key must mean the same thing, so every rewrite here only removes
notation that changes neither the rendered mathematics nor math-verify's reading of it:

- surrounding `$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]`;
- `\\left`/`\\right` (and the null delimiter `\\left.`), `\\displaystyle`;
- spacing commands `\\!`, `\\,`, `\\:`, `\\;`, `\\ `, `\\quad`, `\\qquad`, and whitespace
  (kept, as one space, after a control word before a letter or digit, `\\pi r`, `\\equiv 0`:
  math-verify reads `\\equiv0` differently; and inside `\\text{}`);
- `\\dfrac`/`\\tfrac` → `\\frac`, `\\dbinom`/`\\tbinom` → `\\binom`;
- a degree sign after a number (`90^\\circ`), a leading currency sign (`\\$5`);
- trailing `.`, `,`, `;`;
- an unbraced command argument of `^` or `_` gets its braces (`4^\\frac{3}{2}` → `4^{\\frac{3}{2}}`,
  `2^-\\frac12`, `2^\\sqrt{2}`, `2^\\sqrt[3]{2}`, `x_\\frac{1}{2}`, `2^\\binom{2}{1}`): TeX reads
  them so, but math-verify reads `4^\\frac{3}{2}` as `3/2` (and `2^-\\frac12` as `-1/2`) and cannot
  parse the others at all;
- a text wrapper around the whole answer (`\\text`, `\\textbf`, `\\mathrm`, `\\mbox`, …): dropped
  when its content has no word in it (`\\text{(C)}` → `(C)`), otherwise spelled `\\text{…}`,
  because math-verify reads a bare word as a product of letters (`stop` would equal `pots`).

The key is itself a LaTeX answer: the verifier parses keys, not the raw answers, so a verdict
holds for every answer that shares the key. The rewrites repeat until nothing changes, so
`answer_key(answer_key(a)) == answer_key(a)`.

Answers are untrusted text. An answer longer than `MAX_ANSWER_CHARS` is its own key, untouched
(no pattern ever runs on it), and is never parsed: its verdict is `too_long` (`ingest.grading.verify`). Every
pattern below is linear in its input (possessive quantifiers where whitespace runs meet, no
`[…]+$` search), so keying costs microseconds whatever the answer holds.
"""

from __future__ import annotations

import re

from ingest.grading.latex import argument_end, matching_brace

# No benchmark answer comes near this (MATH-500's longest gold has 53 characters). Below Python's
# int-string limit (4,300 digits), so no key can make `int()` or `Fraction()` refuse it.
MAX_ANSWER_CHARS = 1_000

# One left-to-right pass over LaTeX tokens; `\\` (a row break) is consumed whole so that the
# backslash after it is never read as the start of a command.
_TOKEN_REWRITES = re.compile(
    r"(?P<row>\\\\)"
    r"|(?P<delim>\\(?:left|right)(?![A-Za-z])(?:\s*\.)?)"
    r"|(?P<space>\\[!,:; ]|\\q?quad(?![A-Za-z])|\\displaystyle(?![A-Za-z]))"
    r"|\\[dt](?P<command>frac|binom)(?![A-Za-z])"
    r"|(?<=\d)(?P<degree>\^\s*(?:\\circ|\{\s*\\circ\s*\})(?![A-Za-z]))"
)
_MATH_DELIMITERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
# The text commands math-verify reads as `\text` (it does not know `\textsf`, `\mathsf`, …).
_TEXT_COMMANDS = r"\\(?:text|textbf|textit|textrm|textnormal|mathrm|mathbf|mathit|mbox)"
_TEXT_GROUP = re.compile(r"(?P<command>" + _TEXT_COMMANDS + r")\s*\{")
_WHOLE_TEXT = re.compile(_TEXT_COMMANDS + r"\s*\{(?P<content>.*)\}", re.S)
# Whitespace in math, except one space after a control word before a letter or digit (group 1).
_MATH_SPACE = re.compile(r"(\\[A-Za-z]++)\s++(?=[A-Za-z0-9])|\s+")
_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"[A-Za-z]{2}")
_CURRENCY = re.compile(r"^\\\$\s*(?=[\d.])")
# `^`/`_` followed, without a brace, by a command that takes arguments: (command, arguments).
_UNBRACED_SCRIPT = re.compile(r"[\^_]\s*+(?P<body>(?:-\s*+)?\\(?P<command>frac|sqrt|binom)(?![A-Za-z]))")
_ARGUMENTS = {"frac": 2, "binom": 2, "sqrt": 1}


def _rewrite_token(match: re.Match) -> str:
    if match["row"]:
        return match["row"]
    if match["command"]:
        return "\\" + match["command"]
    return ""


def _strip_math_delimiters(text: str) -> str:
    for opening, closing in _MATH_DELIMITERS:
        if len(text) > len(opening) + len(closing) and text.startswith(opening) and text.endswith(closing):
            inner = text[len(opening):-len(closing)]
            if opening != "$" or "$" not in inner:
                return inner.strip()
    return text


def _squeeze_whitespace(text: str) -> str:
    """Drop whitespace in math; inside text groups collapse it to single spaces."""
    pieces = []
    position = 0
    for group in _TEXT_GROUP.finditer(text):
        if group.start() < position:
            continue  # a text command nested in a group already copied
        close = matching_brace(text, group.end() - 1)
        if close is None:
            break
        pieces.append(_squeeze_math(text[position:group.start()]))
        content = _WHITESPACE.sub(" ", text[group.end():close]).strip()
        pieces.append(group["command"] + "{" + content + "}")
        position = close + 1
    pieces.append(_squeeze_math(text[position:]))
    return "".join(pieces)


def _squeeze_math(text: str) -> str:
    # A NUL becomes a space, squeezed on the next round, as keys written before were made.
    return _MATH_SPACE.sub(lambda m: m[1] + " " if m[1] else "", text).replace("\x00", " ")


def _strip_trailing_punctuation(text: str) -> str:
    """Drop trailing `.`, `,`, `;` and whitespace, keeping the first of them after a backslash
    (`\\;` stays a command). A loop, not a `[…]+$` search, which is quadratic on a long run."""
    end = len(text)
    while end and (text[end - 1] in ".,;" or text[end - 1].isspace()):
        end -= 1
    if 0 < end < len(text) and text[end - 1] == "\\":
        end += 1
    return text[:end]


def _brace_scripts(text: str) -> str:
    """`^\\frac{a}{b}` → `^{\\frac{a}{b}}`, and the same for `_`, `\\sqrt`, `\\binom`, a leading `-`."""
    pieces, position = [], 0
    for script in _UNBRACED_SCRIPT.finditer(text):
        if script.start() < position:
            continue
        end = script.end()
        if script["command"] == "sqrt" and text.startswith("[", end):
            end = text.find("]", end) + 1 or len(text)
        for _ in range(_ARGUMENTS[script["command"]]):
            end = argument_end(text, end) if end is not None else None
        if end is None:
            continue  # an argument that never closes: leave it as written
        body = script.start("body")
        pieces += [text[position:body], "{", text[body:end], "}"]
        position = end
    return "".join(pieces) + text[position:]


def _unwrap_text(text: str) -> str:
    whole = _WHOLE_TEXT.fullmatch(text)
    if whole is None or matching_brace(text, whole.start("content") - 1) != len(text) - 1:
        return text
    content = whole["content"].strip()
    return content if not _WORD.search(content) else f"\\text{{{content}}}"


def _normalize_once(text: str) -> str:
    text = _strip_math_delimiters(text.strip())
    text = _TOKEN_REWRITES.sub(_rewrite_token, text)
    text = _squeeze_whitespace(text)
    text = _brace_scripts(text)
    text = _CURRENCY.sub("", text)
    text = _strip_trailing_punctuation(text)
    return _unwrap_text(text)


def too_long(text: str) -> bool:
    """Whether an answer (or key) is past `MAX_ANSWER_CHARS`: kept as written, never parsed."""
    return len(text) > MAX_ANSWER_CHARS


def answer_key(answer: str | None) -> str | None:
    """The dedupe key of an extracted answer (or a gold answer); None when nothing is left.
    An answer past `MAX_ANSWER_CHARS` is returned as it is."""
    if answer is None:
        return None
    if too_long(answer):
        return answer
    key = answer
    for _ in range(8):
        rewritten = _normalize_once(key)
        if rewritten == key:
            break
        key = rewritten
    return key or None

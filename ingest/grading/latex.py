"""LaTeX scanning shared by extraction and normalization: where does a brace group end?"""

from __future__ import annotations

import re

# An escaped character (`\{`, `\}`, `\\`) or a brace that changes the depth.
_BRACE_TOKEN = re.compile(r"\\.|[{}]", re.S)


def matching_brace(text: str, open_brace: int) -> int | None:
    """The index of the `}` that closes the `{` at `open_brace`; None when it never closes."""
    depth = 0
    for token in _BRACE_TOKEN.finditer(text, open_brace):
        brace = token.group()
        if brace == "{":
            depth += 1
        elif brace == "}":
            depth -= 1
            if depth == 0:
                return token.start()
    return None


def argument_end(text: str, start: int) -> int | None:
    """Where the TeX argument at `start` ends (exclusive): a `{…}` group, a control word or one
    character, after optional spaces; None when there is none or its group never closes."""
    while start < len(text) and text[start].isspace():
        start += 1
    if start >= len(text):
        return None
    if text[start] == "{":
        close = matching_brace(text, start)
        return None if close is None else close + 1
    if text[start] == "\\":
        word = _CONTROL_WORD.match(text, start)
        return word.end() if word else min(start + 2, len(text))
    return start + 1


_CONTROL_WORD = re.compile(r"\\[A-Za-z]+")

"""The cheap pre-filter of answer clustering: the exact value of an answer key that is a plain number.

Keys come normalized (`ingest.grading.normalize`), so a plain number is an integer, a decimal,
`a/b` or `\\frac{a}{b}`, with an optional minus sign. Two such keys need no math-verify call
when their values are equal (equivalent) or far apart (not equivalent); math-verify rounds
decimals (`0.3333333` equals `\\frac{1}{3}`), so values within `CLOSE` of each other are still
verified.

A key past `MAX_ANSWER_CHARS` is no plain number here (it is never compared), so no key reaches
Python's int-string limit.
"""

from __future__ import annotations

import re
from fractions import Fraction

from ingest.grading.normalize import too_long

CLOSE = 0.01  # relative difference below which two numbers go to math-verify

_DECIMAL = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")
_FRACTION = re.compile(r"(?P<sign>-?)(?:\\frac\{(?P<n1>-?\d+)\}\{(?P<d1>-?\d+)\}|(?P<n2>-?\d+)/(?P<d2>-?\d+))")


def numeric_value(key: str) -> Fraction | None:
    """The exact value of a plain-number key, else None."""
    if too_long(key):
        return None
    if _DECIMAL.fullmatch(key):
        return Fraction(key)
    fraction = _FRACTION.fullmatch(key)
    if fraction is None:
        return None
    numerator, denominator = int(fraction["n1"] or fraction["n2"]), int(fraction["d1"] or fraction["d2"])
    if denominator == 0:
        return None
    value = Fraction(numerator, denominator)
    return -value if fraction["sign"] else value


def same_number(a: Fraction, b: Fraction) -> bool | None:
    """Whether two values are equivalent answers: True, False, or None when math-verify must say."""
    if a == b:
        return True
    if abs(a - b) > CLOSE * max(abs(a), abs(b)):
        return False
    return None

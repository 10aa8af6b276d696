"""Answer keys: conservative rewrites that only merge answers which really are equivalent."""

from __future__ import annotations

import pytest

from ingest.grading.normalize import answer_key


@pytest.mark.parametrize("variants, key", [
    (["\\frac{1}{2}", "\\dfrac{1}{2}", "\\tfrac{1}{2}", "$\\frac{1}{2}$", " \\frac{1}{2} ", "\\frac{1}{2}.",
      "\\frac { 1 } { 2 }", "\\(\\frac{1}{2}\\)"], "\\frac{1}{2}"),
    (["\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})", "( 3 , \\frac{\\pi}{2} )"], "(3,\\frac{\\pi}{2})"),
    (["\\left[ 1, 2 \\right)", "[1,2)"], "[1,2)"),
    (["\\left\\{ x \\right.", "\\{x"], "\\{x"),
    (["1\\,000", "1\\!000", "1\\;000", "1\\ 000", "1000"], "1000"),
    (["90^\\circ", "90^{\\circ}", "90"], "90"),
    (["\\$18.90", "\\$ 18.90", "18.90"], "18.90"),
    (["\\text{(C)}", "\\textbf{(C)}", "\\text{ (C) }", "(C)"], "(C)"),
    (["\\text{Evelyn}", "\\mbox{Evelyn}", "\\textbf{ Evelyn }", "\\text{Evelyn}."], "\\text{Evelyn}"),
    (["\\text{no  solution}", "\\text{ no solution }"], "\\text{no solution}"),
    (["\\dbinom{5}{2}", "\\binom{5}{2}"], "\\binom{5}{2}"),
    (["\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}"], "\\begin{pmatrix}1\\\\2\\end{pmatrix}"),
    (["x + 1", "x+1", "x +1;"], "x+1"),
])
def test_equivalent_spellings_share_a_key(variants, key):
    assert {answer_key(v) for v in variants} == {key}


@pytest.mark.parametrize("a, b", [
    ("\\pi r", "\\pir"),                       # a space that ends a control word matters
    ("\\text{stop}", "\\text{pots}"),           # words are not products of letters
    ("\\text{no solution}", "\\text{nosolution}"),
    ("2\\frac{1}{2}", "\\frac{1}{2}"),
    ("\\frac{1}{2}", "0.5"),                    # equal values, different answers: verification's job
    ("x=2", "2"),
    ("\\text{Evelyn}", "Evelyn"),               # a bare word reads as E·v·e·l·y·n to math-verify
    ("90^\\circ", "\\frac{\\pi}{2}"),
    ("\\leftarrow", "arrow"),
    ("5\\%", "5"),
])
def test_different_answers_keep_different_keys(a, b):
    assert answer_key(a) != answer_key(b)


@pytest.mark.parametrize("answer", [None, "", "  ", ".", "$ $", "\\text{}", "\\left.\\right."])
def test_nothing_left_is_no_key(answer):
    assert answer_key(answer) is None


def test_keys_are_idempotent_and_keep_math_verify_reading_on_every_math500_gold(math500_table):
    """Verification parses keys, so a gold's key must mean to math-verify what the gold means."""
    from math_verify import parse, verify

    from ingest.grading.verify import as_latex

    changed = 0
    for gold in math500_table.column("gold_answer").to_pylist():
        key = answer_key(gold)
        assert key and answer_key(key) == key, gold
        if key != gold:
            changed += 1
            original, rewritten = parse(as_latex(gold)), parse(as_latex(key))
            assert str(original[0]) == str(rewritten[0]), (gold, key)
            assert verify(original, rewritten) and verify(rewritten, original), (gold, key)
    assert changed > 50  # the check above really exercised the rewrites


@pytest.mark.parametrize("written, key", [
    ("4^\\frac{3}{2}", "4^{\\frac{3}{2}}"),  # real: mert-cemri beam search, test/algebra/1265, completion 7
    ("4^\\frac32", "4^{\\frac32}"),
    ("2^-\\frac{1}{2}", "2^{-\\frac{1}{2}}"),
    ("2^\\sqrt2", "2^{\\sqrt2}"),
    ("2^\\sqrt[3]{2}", "2^{\\sqrt[3]{2}}"),
    ("x_\\frac{1}{2}", "x_{\\frac{1}{2}}"),
    ("2^\\binom{2}{1}", "2^{\\binom{2}{1}}"),
    ("4^{\\frac{3}{2}}", "4^{\\frac{3}{2}}"),  # already braced
    ("e^\\pi", "e^\\pi"),  # a command without arguments is one token: math-verify reads it right
    ("x^\\frac{1}{2", "x^\\frac{1}{2"),  # an argument that never closes stays as written
])
def test_unbraced_script_arguments_get_braces(written, key):
    assert answer_key(written) == key
    assert answer_key(key) == key

"""Extractors per dataset (GSM8K, multiple choice), the choice by dataset, and the tail fallback."""

from __future__ import annotations

import pytest

from ingest.grading.extract import BOXED
from ingest.grading.extractors import CHOICE, EXTRACTORS, GSM8K, extractor_for_dataset
from ingest.grading.tail import TAIL_CHARS, extract_tail, text_tail


@pytest.mark.parametrize("text, answer", [
    ("She has 3 + 4 = 7 apples.\n#### 7", "7"),
    ("#### 1,234,567", "1234567"),
    ("#### $18.", "18"),
    ("first #### 3\nthen corrected\n#### 4", "4"),
    ("So the answer is \\boxed{12}.", "12"),
    ("The answer is 1,000.", "1000"),
    ("The answer is: 42", "42"),
    ("the answer is $5$.\nWait, no. The answer is 6.", "6"),
    ("The answer is 3.5 dollars.", "3.5 dollars"),
    ("Numbers like 12,34 stay: the answer is 12,34", "12,34"),
    ("no answer here", None),
])
def test_gsm8k(text, answer):
    assert GSM8K.extract(text) == answer


@pytest.mark.parametrize("text, answer", [
    ("Thus \\boxed{C}", "C"),
    ("Thus \\boxed{(B)}", "B"),
    ("Thus \\boxed{\\text{(E)}}", "E"),
    ("The answer is (D).", "D"),
    ("Answer: b", "B"),
    ("so the answer is $(A)$ and we are done", "A"),
    ("(A) 5 (B) 6 (C) 7 — I think the answer is (C)", "C"),
    ("\\boxed{12}", None),  # a number is no choice
    ("The answers are many", None),
    # MMLU-Pro+ has options to L (real texts, pyFade's samples_mmlu_pro_plus_*.jsonl)
    ("Also, the bartering arrangement must be fair and equitable. The answer is (L).", "L"),
    ("Therefore, the correct answer is (D) and (K). Since (K) includes (D), we will choose (K). The answer is (K).",
     "K"),
    ("*   **H:** Diabetes is relevant to several musculoskeletal conditions.\n*   **J:** Certain foods", None),
    ("Thus \\boxed{K}", "K"),
    ("The answer is **(L)**", "L"),
    ("answer is I.", "I"),
    # a capital letter that starts a word is no choice
    ("The answer is A rectangle.", None),
    ("Answer: I think so", None),
])
def test_choice(text, answer):
    assert CHOICE.extract(text) == answer


@pytest.mark.parametrize("dataset, name", [
    ("MATH-500", "boxed"), ("HuggingFaceH4/MATH-500", "boxed"), ("AIME24", "boxed"), (None, "boxed"),
    ("openai/gsm8k", "gsm8k"), ("GSM8K", "gsm8k"), ("gsm-plus", "gsm8k"),
    ("cais/mmlu", "choice"), ("Idavidrein/gpqa", "choice"), ("ai2_arc", "choice"), ("aqua_rat", "choice"),
])
def test_extractor_by_dataset(dataset, name):
    assert extractor_for_dataset(dataset).name == name
    assert EXTRACTORS[name] is extractor_for_dataset(dataset)


def test_only_choice_skips_the_tail_fallback():
    assert BOXED.tail_fallback and GSM8K.tail_fallback and not CHOICE.tail_fallback


@pytest.mark.parametrize("tail, answer", [
    ("The final answer is $7$. I hope it is correct.", "7"),
    ("the answer is 12 apples", "12"),
    ("Therefore, the final answer is: east", "\\text{east}"),
    ("Therefore, the smallest possible value of $c$ is $-2\\pi.$", "-2\\pi."),
    ("John is 75 miles away from home at the end of those 4 hours.", "75"),
    ("The simplified expression is 2 + 2k.", "2 + 2k"),
    ("Therefore, the square's area decreases by 10%.", "10%"),
    ("He made a profit of $200,000 - $130,000 = $<<200000-130000=70000>>70,000.", "70000"),
    ("Kylar needs to pay $64 for the 16 glasses.", None),  # no copula, no conclusion
    # no closing statement: a remark, a header, a list item, a cut-off sentence
    ("so this equals $\\frac{2^{4}}{3^{3}}$. Wait, let me check.", None),
    ("## Step 55: Simplify the expression", None),
    ("## Step 90: Solving for $f(4)$\nThis simplifies to $f(4) = 13.$\n\n## Step 91:", None),
    ("2. Multiply both sides by 3.", None),
    ("We find that $f(14) = 118", None),
    ("we found $x = 5$ and then $y=2$ at last", None),
    ("first $46$ then $\\tan x^\\circ,$", None),
    ("nothing to see", None),
    # a number after "step" is a reference; a clause after the copula is not its value
    ("Therefore, the answer follows from step 87.", None),
    ("Since $\\arctan$ is undefined when $x=0$, we use the unit circle.", None),
    ("Therefore, the figure skater is facing east when she finishes her spin.", None),
])
def test_tail_takes_only_a_closing_statement(tail, answer):
    assert extract_tail(tail) == answer


def test_the_tail_never_starts_inside_math():
    inside_dollars = "a $x$ b $y" + "z" * (TAIL_CHARS + 50) + "$ and $5$ end"
    assert text_tail(inside_dollars) == " and $5$ end"
    inside_display = "\\[ 1 +" + "z" * TAIL_CHARS + "\\] so $3$"
    assert text_tail(inside_display) == " so $3$"
    short = "just $2$"
    assert text_tail(short) == short
    plain = "w" * (TAIL_CHARS * 2)
    assert text_tail(plain) == "w" * TAIL_CHARS

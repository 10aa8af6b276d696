"""The bad-input corpus: malformed, truncated, wrongly typed, empty, huge, deeply nested, non-UTF-8,
lone-surrogate, huge-integer and non-finite inputs for every format `ttsw ingest` knows, each with
its expected outcome, run through the real command line.

Outcomes: ERROR (exit 1, exactly one line on stderr, naming the file and what is wrong), SKIP (exit
0, the summary names the counted skip), ACCEPTED (exit 0). No outcome ever prints a traceback, and
no failed ingest leaves a run marked complete or rows of its run in the lake views.

The corpus is generated here (inspect logs start from the real ones in `real_data`); most inputs
run in-process through `ttsw.cli.run`, a sample of them in a child `ttsw` to prove that stderr holds
no traceback there either.
"""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.readers import FORMATS
from clirun import lake_rows, ttsw_child, ttsw_in_process

ERROR, SKIP, ACCEPTED = "error", "skip", "accepted"
LFS = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 42\n"
DEEP = 5000           # beyond Python's recursion limit
NESTED = 150          # parses, but deeper than the readers accept
HUGE_INT = 2 ** 64
LONG_INT = "9" * 5000  # beyond Python's 4,300-digit conversion limit


@dataclass(frozen=True)
class Case:
    fmt: str            # the --format given (a key of ingest.readers.FORMATS)
    name: str
    write: Callable[[Path], Path]   # writes the input into an empty folder, returns the source to ingest
    outcome: str
    says: str = ""      # a piece of the error or skip line
    args: tuple[str, ...] = ()
    names: str | None = None  # the file the error must name, when not the source (say, its .npy)


def jsonl(records) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def text_file(name: str, content: str | bytes):
    def write(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
        return path
    return write


def line_cases(fmt: str, name: str, good: list[dict], edit_field: str, int_field: str, text_field: str,
               wrong: object, **extra) -> list[Case]:
    """The mutations every JSON-lines format shares, applied to a valid file `good`."""
    body = jsonl(good)
    first = json.dumps(good[0])
    splice = lambda raw: first[:-1] + ", " + raw + "}"  # noqa: E731 - a raw JSON member added to line 1
    replace = lambda field, raw: json.dumps({k: v for k, v in good[0].items() if k != field})[:-1] + \
        f', "{field}": {raw}}}'  # noqa: E731
    rest = jsonl(good[1:])
    cases = [
        (f"valid", body, ACCEPTED, ""),
        ("empty", "", ERROR, "empty"),
        ("blank lines only", "\n \n\n", ERROR, "empty"),
        ("truncated last line", body[:-len(body) // 4], ERROR, "truncated"),
        ("syntax error on line 2", body.replace("\n", "\n{oops\n", 1), ERROR, ":2: invalid JSON"),
        ("not UTF-8", first.replace('"', '"\xff', 1).encode("latin-1", "replace") if False else None, ERROR,
         "not UTF-8"),
        ("BOM at start", "\ufeff" + body, ACCEPTED, ""),
        ("blank lines between", body.replace("\n", "\n\n"), ACCEPTED, ""),
        ("unknown extra field", splice('"zz_extra": {"a": [1, 2]}') + "\n" + rest, ACCEPTED, ""),
        ("a line that is a list", "[1, 2]\n" + body, ERROR, ":1: expected a JSON object"),
        ("a line that is null", "null\n" + body, ERROR, ":1: expected a JSON object"),
        ("a line that is a number", "42\n" + body, ERROR, ":1: expected a JSON object"),
        ("deep nesting beyond the recursion limit", splice(f'"zz": {deep(DEEP)}') + "\n" + rest, ERROR,
         "nested too deeply"),
        ("nesting deeper than accepted", splice(f'"zz": {deep(NESTED)}') + "\n" + rest, ERROR, "nested too deeply"),
        (f"missing {edit_field}", json.dumps({k: v for k, v in good[0].items() if k != edit_field}) + "\n" + rest,
         ERROR, f"'{edit_field}': missing"),
        (f"null {edit_field}", replace(edit_field, "null") + "\n" + rest, ERROR, f"'{edit_field}'"),
        (f"{edit_field} of a wrong type", replace(edit_field, json.dumps(wrong)) + "\n" + rest, ERROR,
         f"'{edit_field}'"),
        (f"{int_field} ≥ 2^63", replace(int_field, str(HUGE_INT)) + "\n" + rest, ERROR, "64-bit"),
        (f"{int_field} of 5000 digits", replace(int_field, LONG_INT) + "\n" + rest, ERROR, "too long"),
        (f"{int_field} a float", replace(int_field, "1.5") + "\n" + rest, ERROR, f"'{int_field}'"),
        (f"{int_field} true", replace(int_field, "true") + "\n" + rest, ERROR, f"'{int_field}'"),
        (f"{text_field} with a lone surrogate", replace(text_field, '"a \\ud800 b"') + "\n" + rest, ERROR,
         "surrogate"),
        (f"{text_field} with a surrogate pair (an emoji)", replace(text_field, '"a \\ud83d\\ude00 b"') + "\n" + rest,
         ACCEPTED, ""),
        ("a Git LFS pointer", LFS, ERROR, "git lfs pull"),
    ]
    out = []
    for label, content, outcome, says in cases:
        if content is None:  # a byte that is not UTF-8 inside line 1's first string
            content = first.encode().replace(b'"', b'"\xff', 1) + b"\n" + rest.encode()
        out.append(Case(fmt, label, text_file(name, content), outcome, says, **extra))
    return out


# --- topk-jsonl -----------------------------------------------------------------------------------

TOPK = [{"gt": 5, "top_ids": [5, 7, 9], "top_probs": [0.6, 0.3, 0.1]},
        {"gt": 7, "top_ids": [5, 7, 9], "top_probs": ["0.5", "0.25", "0.25"]}]


def topk_cases() -> list[Case]:
    cases = line_cases("topk-jsonl", "topk.jsonl", TOPK, "top_ids", "gt", "zz_text", "5")
    cases = [c for c in cases if "zz_text" not in c.name]
    body = lambda *lines: jsonl([*lines, *TOPK])  # noqa: E731
    base = {"gt": 5, "top_ids": [5, 7]}
    for label, probs, outcome, says in [
        ("prob NaN", [float("nan"), 0.1], SKIP, "NaN or inf"),
        ("prob inf", [float("inf"), 0.1], SKIP, "NaN or inf"),
        ("prob -inf", [float("-inf"), 0.1], SKIP, "NaN or inf"),
        ("prob negative", [-0.5, 0.1], ERROR, "not a probability"),
        ("prob above 1", [1.5, 0.1], ERROR, "not a probability"),
        ("prob a word", ["high", 0.1], ERROR, "numeric string"),
        ("prob 'nan' string", ["nan", 0.1], SKIP, "NaN or inf"),
        ("prob null", [None, 0.1], ERROR, "top_probs[0]"),
        ("probs shorter than ids", [0.1], ERROR, "top_ids has 2"),
        ("prob 1e400 (inf)", "1e400", SKIP, "NaN or inf"),
    ]:
        line = (json.dumps(base)[:-1] + f', "top_probs": [{probs}, 0.1]}}') if isinstance(probs, str) \
            else json.dumps({**base, "top_probs": probs}, allow_nan=True)
        cases.append(Case("topk-jsonl", label, text_file("topk.jsonl", body(line)), outcome, says))
    cases += [
        Case("topk-jsonl", "gt negative (padding)", text_file("topk.jsonl", body({**base, "gt": -100,
                                                                                   "top_probs": [0.5, 0.5]})),
             SKIP, "gt is negative"),
        Case("topk-jsonl", "ids are strings", text_file("topk.jsonl", body({**base, "top_ids": ["5", "7"],
                                                                            "top_probs": [0.5, 0.5]})),
             ERROR, "top_ids[0]"),
        Case("topk-jsonl", "a top id ≥ 2^63", text_file("topk.jsonl", body(json.dumps(base)[:-1].replace(
            "[5, 7]", f"[5, {HUGE_INT}]") + ', "top_probs": [0.5, 0.5]}')), ERROR, "64-bit"),
        Case("topk-jsonl", "a huge line (200k ids)", text_file("topk.jsonl", jsonl([
            {"gt": 1, "top_ids": list(range(200_000)), "top_probs": [1 / 200_000] * 200_000}])), ACCEPTED),
    ]
    return cases


# --- qwen-math-eval -------------------------------------------------------------------------------

QWEN = [{"idx": 0, "question": "What is 1+1?", "gt": "2", "code": ["so \\boxed{2}", "\\boxed{3}"],
         "pred": ["2", "3"], "score": [True, False], "pred_score": [[0.9, 0.8], [0.4]]},
        {"idx": 1, "question": "What is 2+2?", "gt": 4, "code": ["\\boxed{4}"], "pred": ["4"], "score": [True]}]


def qwen_cases() -> list[Case]:
    cases = line_cases("qwen-math-eval", "test_qwen.jsonl", QWEN, "code", "idx", "question", "text")
    lines = lambda first: jsonl([first, *QWEN[1:]])  # noqa: E731
    for label, change, outcome, says in [
        ("pred_score NaN", '"pred_score": [[NaN, 0.8], [0.4]]', SKIP, "NaN or inf"),
        ("pred_score Infinity", '"pred_score": [[0.9], [Infinity]]', SKIP, "NaN or inf"),
        ("pred_score a string", '"pred_score": [["high"], [0.4]]', ERROR, "pred_score"),
        ("pred_score 1e999", '"pred_score": [[1e999], [0.4]]', SKIP, "NaN or inf"),
        ("pred longer than code", '"pred": ["2", "3", "4"]', ERROR, "pred"),
        ("score not a list", '"score": true', ERROR, "score"),
        ("level a word", '"level": "hard"', ERROR, "level"),
        ("level 'Level 3'", '"level": "Level 3"', ACCEPTED, ""),
        ("gt a huge integer", f'"gt": {HUGE_INT}', ACCEPTED, ""),
        ("gt NaN", '"gt": NaN', ERROR, "gt"),
    ]:
        key = change.split('"')[1]
        first = json.dumps({k: v for k, v in QWEN[0].items() if k != key})[:-1] + ", " + change + "}"
        cases.append(Case("qwen-math-eval", label, text_file("test_qwen.jsonl", lines(first)), outcome, says))
    cases.append(Case("qwen-math-eval", "repeated idx", text_file("test_qwen.jsonl", jsonl([*QWEN, QWEN[0]])),
                      SKIP, "duplicate"))
    return cases


# --- search-and-learn (JSONL, Parquet and save_to_disk layouts) -----------------------------------

SAL = [{"problem": "What is 1+1?", "unique_id": "test/a.json", "answer": "2", "level": 1,
        "completions": ["\\boxed{2}", "\\boxed{3}"], "scores": [[0.9, 0.8], [0.3]], "completion_tokens": [10, 12],
        "pass@1": 0.5},
       {"problem": "What is 2+2?", "unique_id": "test/b.json", "answer": "4", "level": 2,
        "completions": ["\\boxed{4}"], "scores": [[0.7]], "completion_tokens": [8], "pass@1": 1.0}]
SAL_NAME = "HuggingFaceH4_MATH-500--T-0.8--top_p-1.0--n-4--seed-0--agg_strategy-last.jsonl"


def sal_cases() -> list[Case]:
    fmt = "search-and-learn"
    lenient = {"missing completions": (ERROR, "completions"), "level a float": (ACCEPTED, ""),
               "level true": (ACCEPTED, ""), "level ≥ 2^63": (ERROR, "level"), "level of 5000 digits": None}
    cases = []
    for c in line_cases(fmt, SAL_NAME, SAL, "completions", "level", "problem", "text"):
        if c.name in lenient:  # level is read leniently (digits in any value); completions is a column
            if lenient[c.name] is None:
                cases.append(c)
                continue
            c = Case(c.fmt, c.name, c.write, *lenient[c.name])
        cases.append(c)
    # a row without `problem` text but with its unique_id is still a row; level is read leniently
    rows = lambda first: jsonl([first, *SAL[1:]])  # noqa: E731
    for label, change, outcome, says in [
        ("a PRM score NaN", {"scores": [[float("nan"), 0.8], [0.3]]}, SKIP, "NaN or infinite"),
        ("a PRM score inf", {"scores": [[float("inf")], [0.3]]}, SKIP, "NaN or infinite"),
        ("a PRM score a string", {"scores": [["x"], [0.3]]}, ERROR, "scores"),
        ("scores shorter than completions", {"scores": [[0.9]]}, ERROR, "scores"),
        ("pass@1 NaN", {"pass@1": float("nan")}, SKIP, "NaN or inf"),
        ("pass@1 inf", {"pass@1": float("inf")}, SKIP, "NaN or inf"),
        ("pass@1 a string", {"pass@1": "half"}, ERROR, "pass@1"),
        ("a null completion", {"completions": [None, "\\boxed{3}"]}, SKIP, "null"),
        ("a completion a number", {"completions": [7, "\\boxed{3}"]}, ERROR, "completions"),
        ("token counts as strings", {"completion_tokens": ["10", "12"]}, ERROR, "completion_tokens"),
        ("no problem text nor unique_id", {"problem": None, "unique_id": None}, ERROR, "problem"),
    ]:
        first = json.dumps({**SAL[0], **change}, allow_nan=True)
        cases.append(Case(fmt, label, text_file(SAL_NAME, rows(first)), outcome, says))

    def parquet(mutate: Callable[[Path], None] | None = None, table: pa.Table | None = None):
        def write(folder: Path) -> Path:
            path = folder / SAL_NAME.replace(".jsonl", ".parquet")
            pq.write_table(table if table is not None else pa.Table.from_pylist(SAL), path)
            if mutate:
                mutate(path)
            return path
        return write

    def truncate(path: Path) -> None:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])

    cases += [
        Case(fmt, "parquet valid", parquet(), ACCEPTED),
        Case(fmt, "parquet truncated", parquet(truncate), ERROR, "cannot read"),
        Case(fmt, "parquet empty", parquet(lambda p: p.write_bytes(b"")), ERROR, "empty"),
        Case(fmt, "parquet garbage", parquet(lambda p: p.write_bytes(b"PAR1" + b"\0" * 100)), ERROR, "cannot read"),
        Case(fmt, "parquet completions of ints", parquet(table=pa.table({
            "problem": ["q"], "unique_id": ["u"], "completions": [[1, 2]]})), ERROR, "completions"),
        Case(fmt, "parquet scores NaN", parquet(table=pa.Table.from_pylist(
            [{**SAL[0], "scores": [[math.nan], [0.3]]}])), SKIP, "NaN or infinite"),
    ]

    def saved(manifest: str | None, state: str | None = None):
        def write(folder: Path) -> Path:
            root = folder / "saved"
            (root / "train").mkdir(parents=True)
            if manifest is not None:
                (root / "dataset_dict.json").write_text(manifest)
            if state is not None:
                (root / "train" / "state.json").write_text(state)
            return root
        return write

    config = ("--config", SAL_NAME.removesuffix(".jsonl"))
    cases += [Case(c.fmt, c.name, c.write, c.outcome, c.says, config) for c in [
        Case(fmt, "dataset_dict.json splits a number", saved('{"splits": 5}'), ERROR, "splits"),
        Case(fmt, "dataset_dict.json splits null", saved('{"splits": null}'), ERROR, "splits"),
        Case(fmt, "dataset_dict.json a list", saved('["train"]'), ERROR, "dataset_dict.json"),
        Case(fmt, "dataset_dict.json truncated", saved('{"splits": ["tra'), ERROR, "truncated"),
        Case(fmt, "dataset_dict.json empty", saved(''), ERROR, "empty"),
        Case(fmt, "dataset_dict.json splits of numbers", saved('{"splits": [1, 2]}'), ERROR, "splits[0]"),
        Case(fmt, "dataset_dict.json deeply nested", saved('{"splits": ' + deep(DEEP) + '}'), ERROR, "nested"),
        Case(fmt, "state.json missing", saved('{"splits": ["train"]}'), ERROR, "state.json"),
        Case(fmt, "state.json data files not a list", saved('{"splits": ["train"]}', '{"_data_files": 3}'),
             ERROR, "_data_files"),
        Case(fmt, "state.json filename a number", saved('{"splits": ["train"]}',
                                                        '{"_data_files": [{"filename": 7}]}'), ERROR, "filename"),
        Case(fmt, "state.json filename outside", saved('{"splits": ["train"]}',
                                                       '{"_data_files": [{"filename": "../../x.arrow"}]}'),
             ERROR, "plain file name"),
        Case(fmt, "state.json names a missing arrow file", saved('{"splits": ["train"]}',
                                                                 '{"_data_files": [{"filename": "d.arrow"}]}'),
             ERROR, "not found"),
    ]]
    return cases


# --- bon-parquet ----------------------------------------------------------------------------------

def bon_table(**columns) -> pa.Table:
    base = {"query_id": [1, 1, 2], "candidate_idx": [0, 1, 0], "is_verified": [True, False, True],
            "query": ["q1", "q1", "q2"], "response": ["a", "b", "c"]}
    return pa.table({**base, **columns})


def bon_file(table: pa.Table | None = None, meta: dict | None = None, raw: bytes | None = None,
             cut: float | None = None):
    def write(folder: Path) -> Path:
        path = folder / "bon_run.parquet"
        if raw is not None:
            path.write_bytes(raw)
            return path
        t = table if table is not None else bon_table()
        t = t.replace_schema_metadata({**(t.schema.metadata or {}), **{k.encode(): v.encode()
                                                                        for k, v in (meta or {}).items()}})
        pq.write_table(t, path)
        if cut is not None:
            data = path.read_bytes()
            path.write_bytes(data[: int(len(data) * cut)])
        return path
    return write


def bon_cases() -> list[Case]:
    f = "bon-parquet"
    nan = float("nan")
    return [
        Case(f, "valid", bon_file(meta={"model": "m", "num_candidates": "2"}), ACCEPTED),
        Case(f, "empty file", bon_file(raw=b""), ERROR, "empty"),
        Case(f, "garbage bytes", bon_file(raw=b"not parquet at all"), ERROR, "not a readable Parquet"),
        Case(f, "truncated at half", bon_file(cut=0.5), ERROR, "not a readable Parquet"),
        Case(f, "truncated by 8 bytes", bon_file(cut=0.98), ERROR, "not a readable Parquet"),
        Case(f, "no rows", bon_file(bon_table().slice(0, 0)), ERROR, "no rows"),
        Case(f, "no is_verified", bon_file(bon_table().drop_columns(["is_verified"])), ERROR, "is_verified"),
        Case(f, "no text column", bon_file(bon_table().drop_columns(["response"])), ERROR, "response"),
        Case(f, "is_verified NaN", bon_file(bon_table(is_verified=[1.0, nan, 0.0])), SKIP, "NaN or inf"),
        Case(f, "is_verified inf", bon_file(bon_table(is_verified=[1.0, float("inf"), 0.0])), SKIP, "NaN or inf"),
        Case(f, "is_verified 2", bon_file(bon_table(is_verified=[1, 2, 0])), ERROR, "is_verified"),
        Case(f, "is_verified text", bon_file(bon_table(is_verified=["y", "n", "y"])), ERROR, "is_verified"),
        Case(f, "candidate_idx negative", bon_file(bon_table(candidate_idx=[0, -1, 0])), ERROR, "candidate_idx"),
        Case(f, "candidate_idx floats", bon_file(bon_table(candidate_idx=[0.0, 1.0, 0.0])), ERROR, "candidate_idx"),
        Case(f, "query_id null", bon_file(bon_table(query_id=[1, None, 2])), ERROR, "query_id"),
        Case(f, "query_id uint64 ≥ 2^63", bon_file(bon_table(query_id=pa.array([2 ** 63, 2 ** 63, 1],
                                                                                   pa.uint64()))), ACCEPTED),
        Case(f, "text not UTF-8", bon_file(bon_table(response=pa.array([b"a", b"\xff\xfe", b"c"], pa.binary()))),
             ERROR, "not UTF-8"),
        Case(f, "one query, two texts", bon_file(bon_table(query=["q1", "other", "q2"])), ERROR, "query"),
        Case(f, "repeated candidate", bon_file(bon_table(candidate_idx=[0, 0, 0])), SKIP, "duplicate"),
        Case(f, "temperature metadata NaN", bon_file(meta={"temperature": "nan"}), ERROR, "temperature"),
        Case(f, "temperature metadata a word", bon_file(meta={"temperature": "warm"}), ERROR, "temperature"),
        Case(f, "num_candidates metadata huge", bon_file(meta={"num_candidates": str(HUGE_INT)}), ERROR,
             "num_candidates"),
        Case(f, "generated_at metadata bad", bon_file(meta={"generated_at": "yesterday"}), ERROR, "generated_at"),
        Case(f, "a 2 MB response", bon_file(bon_table(response=["x" * 2_000_000, "b", "c"])), ACCEPTED),
    ]


# --- prm-json -------------------------------------------------------------------------------------

PRM = {"metadata": {"model_name": "m", "dataset": "aime", "N": 2, "temperature": 0.7},
       "results": [{"index": 0, "question": "q0", "gold_answer": "1",
                    "solutions": [{"text": "a", "num_tokens": 3}, {"text": "b"}]},
                   {"index": 1, "question": "q1", "gold_answer": 2, "solutions": [{"text": "c"}]}]}
PRM_CORR = {"metadata": {"prm_model": "p", "N": 4}, "correlations": {"512": {"mean": 0.4, "min": 0.2}},
            "best_of_n_accuracy": {"mean": 0.5}}


def json_doc_cases(fmt: str, name: str, good: dict, extra: tuple[str, ...] = ()) -> list[Case]:
    """Mutations every whole-document JSON format shares."""
    text = json.dumps(good, indent=1)
    nested = json.dumps({**good, "zz": "PLACEHOLDER"}).replace('"PLACEHOLDER"', deep(DEEP))
    nested_less = json.dumps({**good, "zz": "PLACEHOLDER"}).replace('"PLACEHOLDER"', deep(NESTED))
    write = lambda content: text_file(name, content)  # noqa: E731
    return [Case(fmt, label, write(content), outcome, says, extra) for label, content, outcome, says in [
        ("valid", text, ACCEPTED, ""),
        ("empty", "", ERROR, "empty"),
        ("whitespace", "  \n\t\n", ERROR, "empty"),
        ("truncated", text[: len(text) * 2 // 3], ERROR, "truncated"),
        ("cut by one byte", text[:-1], ERROR, "truncated"),
        ("a syntax error", text.replace(":", "=", 1), ERROR, "invalid JSON"),
        ("not UTF-8", text.encode().replace(b'"', b'"\xff', 1), ERROR, "not UTF-8"),
        ("a list, not an object", "[1, 2, 3]", ERROR, name),
        ("a bare string", '"hello"', ERROR, name),
        ("deep nesting beyond the recursion limit", nested, ERROR, "nested too deeply"),
        ("nesting deeper than accepted", nested_less, ERROR, "nested too deeply"),
        ("a lone surrogate", text.replace('"m"', '"\\udc00"', 1) if '"m"' in text
         else json.dumps({**good, "zz": "PLACEHOLDER"}).replace("PLACEHOLDER", "\\udc00"), ERROR, "surrogate"),
        ("a 5000-digit integer", json.dumps({**good, "zz": 0}).replace('"zz": 0', f'"zz": {LONG_INT}'), ERROR,
         "too long"),
        ("a Git LFS pointer", LFS, ERROR, "git lfs pull"),
        ("BOM at start", "\ufeff" + text, ACCEPTED, ""),
    ]]


def prm_cases() -> list[Case]:
    f, name = "prm-json", "aime_N2.json"
    cases = json_doc_cases(f, name, PRM)
    edits = [
        ("index a string", lambda d: d["results"][0].update(index="0"), ERROR, "'index'"),
        ("index ≥ 2^63", lambda d: d["results"][0].update(index=HUGE_INT), ERROR, "64-bit"),
        ("solutions missing", lambda d: d["results"][0].pop("solutions"), ERROR, "'solutions': missing"),
        ("a solution's text null", lambda d: d["results"][0]["solutions"][0].update(text=None), ERROR, "'text'"),
        ("num_tokens a float", lambda d: d["results"][0]["solutions"][0].update(num_tokens=1.5), ERROR,
         "num_tokens"),
        ("temperature NaN", lambda d: d["metadata"].update(temperature=float("nan")), ERROR, "temperature"),
        ("temperature 1e999", None, ERROR, "temperature"),
        ("N ≥ 2^63", lambda d: d["metadata"].update(N=HUGE_INT), ERROR, "64-bit"),
        ("metadata a list", lambda d: d.update(metadata=[]), ERROR, "'metadata'"),
        ("results an object", lambda d: d.update(results={}), ERROR, "'results'"),
        ("an item a string", lambda d: d["results"].insert(0, "x"), ERROR, "row 0"),
        ("repeated index", lambda d: d["results"].append(d["results"][0]), SKIP, "duplicate"),
    ]
    for label, edit, outcome, says in edits:
        doc = json.loads(json.dumps(PRM))
        if edit is None:
            content = json.dumps(doc).replace('"temperature": 0.7', '"temperature": 1e999')
        else:
            edit(doc)
            content = json.dumps(doc, allow_nan=True)
        cases.append(Case(f, label, text_file(name, content), outcome, says))
    for label, change, outcome, says in [
        ("correlations valid", {}, ACCEPTED, ""),
        ("a correlation NaN", {"correlations": {"512": {"mean": float("nan")}}}, SKIP, "NaN or inf"),
        ("a correlation Infinity", {"correlations": {"512": {"mean": float("inf")}}}, SKIP, "NaN or inf"),
        ("a correlation a string", {"correlations": {"512": {"mean": "high"}}}, ERROR, "correlations.512.mean"),
        ("a threshold not a number", {"correlations": {"many": {"mean": 0.1}}}, ERROR, "threshold"),
        ("accuracy NaN", {"best_of_n_accuracy": float("nan")}, SKIP, "NaN or inf"),
    ]:
        cases.append(Case(f, label, text_file("corr.json", json.dumps({**PRM_CORR, **change}, allow_nan=True)),
                          outcome, says))
    return cases


# --- reasoning-traces -----------------------------------------------------------------------------

TRACES = {"metadata": {"model_name": "m", "embedding_model": "e"},
          "results": [{"query": "q0", "full_output": "out0", "reasoning": "r", "final_answer": "1",
                       "embedding": [0.1, 0.2]},
                      {"query": "q1", "full_output": "out1", "embedding": [0.3, 0.4]}]}


def traces_cases() -> list[Case]:
    f, name = "reasoning-traces", "m_results.json"
    cases = json_doc_cases(f, name, TRACES, ("--dataset", "d"))
    for label, edit, outcome, says in [
        ("an embedding with NaN", lambda d: d["results"][0].update(embedding=[float("nan"), 0.1]), SKIP,
         "NaN or inf"),
        ("an embedding with 1e39 (inf in float32)", lambda d: d["results"][0].update(embedding=[1e39, 0.1]), SKIP,
         "NaN or inf"),
        ("an embedding of strings", lambda d: d["results"][0].update(embedding=["a", "b"]), ERROR, "embedding[0]"),
        ("embeddings of two lengths", lambda d: d["results"][1].update(embedding=[0.1]), ERROR, "embedding"),
        ("an empty embedding", lambda d: d["results"][0].update(embedding=[]), ERROR, "embedding"),
        ("query missing", lambda d: d["results"][0].pop("query"), ERROR, "'query': missing"),
        ("full_output a number", lambda d: d["results"][0].update(full_output=3), ERROR, "full_output"),
        ("an item a list", lambda d: d["results"].append([1]), ERROR, "row 2"),
        ("repeated query", lambda d: d["results"].append(d["results"][0]), SKIP, "duplicate"),
    ]:
        doc = json.loads(json.dumps(TRACES))
        edit(doc)
        cases.append(Case(f, label, text_file(name, json.dumps(doc, allow_nan=True)), outcome, says,
                          ("--dataset", "d")))

    def with_npy(content: bytes | None, rows: int = 2):
        def write(folder: Path) -> Path:
            import numpy as np

            doc = json.loads(json.dumps(TRACES))
            for item in doc["results"]:
                item.pop("embedding")
            path = folder / name
            path.write_text(json.dumps(doc))
            npy = folder / "m_embeddings.npy"
            if content is None:
                np.save(npy, np.ones((rows, 3), dtype=np.float32))
            else:
                npy.write_bytes(content)
            return path
        return write

    cases += [
        Case(f, "npy valid", with_npy(None), ACCEPTED, "", ("--dataset", "d")),
        Case(f, "npy rows differ", with_npy(None, rows=3), ERROR, "rows", ("--dataset", "d")),
        Case(f, "npy garbage", with_npy(b"\x93NUMPY garbage"), ERROR, "not a readable .npy", ("--dataset", "d"),
             "m_embeddings.npy"),
        Case(f, "npy empty", with_npy(b""), ERROR, "not a readable .npy", ("--dataset", "d"), "m_embeddings.npy"),
    ]
    return cases


# --- lm-eval and rank-logs ------------------------------------------------------------------------

TIME = "2025-01-02T03-04-05.000001"
LM_RESULTS = {"results": {"gsm8k": {"alias": "gsm8k", "exact_match,flexible-extract": 0.5}},
              "configs": {"gsm8k": {"task": "gsm8k", "output_type": "generate_until", "repeats": 1}},
              "versions": {"gsm8k": 3.0}, "n-samples": {"gsm8k": {"original": 2, "effective": 2}},
              "config": {"model": "hf", "model_args": "pretrained=org/tiny"}, "model_name": "org/tiny"}
LM_SAMPLES = [{"doc_id": d, "doc": {"question": f"q{d}"}, "target": "7", "arguments": {"gen_args_0": {"arg_0": "Q"}},
               "resps": [[f"so {d}"]], "filtered_resps": [str(d)], "filter": "flexible-extract",
               "metrics": ["exact_match"], "exact_match": 1.0} for d in range(2)]


def lm_folder(results: str | bytes | None = None, samples: str | bytes | None = None, ranks: str | None = None):
    """An lm-eval output folder (results + samples); with `ranks`, a rank log beside them (the source)."""
    def write(folder: Path) -> Path:
        out = folder / "out" / "org__tiny"
        out.mkdir(parents=True)
        content = json.dumps(LM_RESULTS) if results is None else results
        (out / f"results_{TIME}.json").write_bytes(content if isinstance(content, bytes) else content.encode())
        content = jsonl(LM_SAMPLES) if samples is None else samples
        (out / f"samples_gsm8k_{TIME}.jsonl").write_bytes(
            content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
        if ranks is None:
            return out
        log = folder / "out" / "low_conf_ranks_tiny.jsonl"
        log.write_text(ranks)
        return log
    return write


def lm_eval_cases() -> list[Case]:
    f = "lm-eval"
    results_text = json.dumps(LM_RESULTS)
    cases = [Case(f, f"results: {c.name}", lm_folder(results=_content(c)), c.outcome, c.says)
             for c in json_doc_cases(f, f"results_{TIME}.json", LM_RESULTS)]
    for c in line_cases(f, "s.jsonl", LM_SAMPLES, "resps", "doc_id", "target", "text"):
        if c.name.startswith("a Git LFS pointer"):  # a samples pointer is a warning: the run keeps its claims
            cases.append(Case(f, "samples: a Git LFS pointer", lm_folder(samples=LFS), ACCEPTED))
            continue
        cases.append(Case(f, f"samples: {c.name}", lm_folder(samples=_content(c)), c.outcome, c.says))
    for label, change, outcome, says in [
        ("a metric NaN", {"exact_match,flexible-extract": float("nan")}, SKIP, "not finite"),
        ("a metric Infinity", {"exact_match,flexible-extract": float("inf")}, SKIP, "not finite"),
    ]:
        doc = json.loads(results_text)
        doc["results"]["gsm8k"].update(change)
        cases.append(Case(f, f"results: {label}", lm_folder(results=json.dumps(doc, allow_nan=True)), outcome, says))
    cases += [
        Case(f, "results: repeats ≥ 2^63", lm_folder(results=results_text.replace('"repeats": 1',
                                                                                    f'"repeats": {HUGE_INT}')),
             ERROR, "repeats"),
        Case(f, "results: results not an object", lm_folder(results='{"results": [], "configs": {}}'), ERROR,
             "results"),
        Case(f, "samples: a repeated line", lm_folder(samples=jsonl(LM_SAMPLES + LM_SAMPLES[:1])), SKIP, "duplicate"),
        Case(f, "samples: a repeated doc with other content",
             lm_folder(samples=jsonl(LM_SAMPLES + [{**LM_SAMPLES[0], "target": "8"}])), ERROR, "different content"),
    ]
    return cases


def _content(case: Case) -> bytes:
    """What a case's writer writes (run into a scratch folder)."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        return case.write(Path(scratch)).read_bytes()


def rank_cases() -> list[Case]:
    f = "rank-logs"
    out = []
    for label, ranks, outcome, says in [
        ("valid lists", "[1, 2]\n[3]\n", ACCEPTED, ""),
        ("valid objects with probs", '{"ranks": [1], "probs": [0.5]}\n[2]\n', ACCEPTED, ""),
        ("a null line", "null\n[2]\n", SKIP, "null"),
        ("empty", "", ERROR, "empty"),
        ("one line short", "[1]\n", ERROR, "rank lines"),
        ("one line too many", "[1]\n[2]\n[3]\n", ERROR, "rank lines"),
        ("a rank 0", "[0]\n[2]\n", ERROR, "ranks[0]"),
        ("a rank a string", '["1"]\n[2]\n', ERROR, "ranks[0]"),
        ("a rank ≥ 2^63", f"[{HUGE_INT}]\n[2]\n", ERROR, "64-bit"),
        ("a rank of 5000 digits", f"[{LONG_INT}]\n[2]\n", ERROR, "too long"),
        ("a line a number", "5\n[2]\n", ERROR, "ranks"),
        ("truncated", "[1, 2]\n[3", ERROR, "truncated"),
        ("deep nesting", deep(DEEP) + "\n[2]\n", ERROR, "nested too deeply"),
        ("a prob NaN", '{"ranks": [1, 2], "probs": [NaN, 0.5]}\n[2]\n', SKIP, "NaN or inf"),
        ("a prob Infinity", '{"ranks": [1], "probs": [Infinity]}\n[2]\n', SKIP, "NaN or inf"),
        ("a prob -Infinity", '{"ranks": [1], "probs": [-Infinity]}\n[2]\n', SKIP, "NaN or inf"),
        ("a prob 1e999", '{"ranks": [1], "probs": [1e999]}\n[2]\n', SKIP, "NaN or inf"),
        ("a prob negative", '{"ranks": [1], "probs": [-0.1]}\n[2]\n', ERROR, "probs[0]"),
        ("a prob above 1", '{"ranks": [1], "probs": [1.5]}\n[2]\n', ERROR, "probs[0]"),
        ("probs shorter than ranks", '{"ranks": [1, 2], "probs": [0.5]}\n[2]\n', ERROR, "probs"),
        ("not UTF-8", b"[1]\n[\xff]\n", ERROR, "not UTF-8"),
    ]:
        write = lm_folder(ranks=ranks) if isinstance(ranks, str) else _rank_bytes(ranks)
        out.append(Case(f, label, write, outcome, says))
    return out


def _rank_bytes(content: bytes):
    def write(folder: Path) -> Path:
        log = lm_folder(ranks="")(folder)
        log.write_bytes(content)
        return log
    return write


# --- inspect (from the real logs) -----------------------------------------------------------------

def inspect_cases(real: Path) -> list[Case]:
    f = "inspect"
    json_log = real / "inspect_ai/tests/log/test_eval_log/log_formats.json"
    eval_log = next((real / "inspect_ai/tests/scorer/logs").glob("*.eval"))
    doc = json.loads(json_log.read_text())
    text = json.dumps(doc)

    def copy(source: Path, edit: Callable[[bytes], bytes] = lambda b: b):
        def write(folder: Path) -> Path:
            path = folder / source.name
            path.write_bytes(edit(source.read_bytes()))
            return path
        return write

    # Inspect parses its logs itself: an unknown member nested 150 deep is no harm to it
    cases = [Case(f, f"json: {c.name}", c.write, *((ACCEPTED, "") if c.name == "nesting deeper than accepted"
                                                   else (c.outcome, c.says)))
             for c in json_doc_cases(f, json_log.name, doc) if c.name not in ("a Git LFS pointer", "BOM at start")]
    cases += [
        Case(f, "json: status a number", copy(json_log, lambda _: text.replace('"status": "success"',
                                                                               '"status": 5').encode()),
             ERROR, "status"),
        Case(f, "json: eval missing", copy(json_log, lambda _: json.dumps({k: v for k, v in doc.items()
                                                                           if k != "eval"}).encode()),
             ERROR, json_log.name),
        Case(f, "eval: valid", copy(eval_log), ACCEPTED),
        Case(f, "eval: truncated", copy(eval_log, lambda b: b[: len(b) // 2]), ERROR, "truncated"),
        Case(f, "eval: empty", copy(eval_log, lambda b: b""), ERROR, eval_log.name),
        Case(f, "eval: garbage", copy(eval_log, lambda b: b"garbage" * 10), ERROR, "zip"),
    ]
    return cases


def corpus(real: Path) -> list[Case]:
    return (topk_cases() + qwen_cases() + sal_cases() + bon_cases() + prm_cases() + traces_cases()
            + lm_eval_cases() + rank_cases() + inspect_cases(real))


def check(case: Case, ran, source: Path) -> str | None:
    """What is wrong with how the CLI handled a case (None: as expected)."""
    everything = ran.stdout + ran.stderr
    if "Traceback" in everything:
        return "a traceback"
    if case.outcome == ERROR:
        lines = ran.error_lines()
        if ran.code != 1 or len(lines) != 1:
            return f"exit {ran.code}, stderr {lines!r}"
        named = (case.names or source.name) in lines[0]
        if not named or case.says.lower() not in lines[0].lower():
            return f"error line {lines[0]!r} lacks the file or {case.says!r}"
        return None
    if ran.code != 0 or ran.error_lines():
        return f"exit {ran.code}: {ran.stderr.strip()[:300]}"
    if case.outcome == SKIP and not any("skipped" in line and case.says.lower() in line.lower()
                                        for line in ran.stdout.splitlines()):
        return f"no skip line with {case.says!r}: {ran.stdout[:300]}"
    return None


@pytest.fixture(scope="module")
def ran_corpus(real_data, tmp_path_factory):
    """Every case ingested once into one home (in-process): (case, source, result) per case."""
    root = tmp_path_factory.mktemp("bad_input")
    home = root / "home"
    results = []
    for i, case in enumerate(corpus(real_data)):
        folder = root / f"{i:03d}"
        folder.mkdir()
        source = case.write(folder)
        ran = ttsw_in_process(home, "ingest", "--no-progress", "--format", case.fmt, *case.args, str(source))
        results.append((case, source, ran))
    return home, results


def test_the_corpus_covers_every_format_with_150_inputs(ran_corpus):
    _, results = ran_corpus
    per_format = Counter(case.fmt for case, _, _ in results)
    assert set(per_format) == set(FORMATS)
    assert sum(per_format.values()) >= 150
    outcomes = Counter(case.outcome for case, _, _ in results)
    print("\ninputs per format:", dict(per_format), "outcomes:", dict(outcomes))


def test_every_input_gets_its_expected_outcome_without_a_traceback(ran_corpus):
    _, results = ran_corpus
    wrong = [f"{case.fmt} / {case.name}: {problem}" for case, source, ran in results
             if (problem := check(case, ran, source)) is not None]
    assert not wrong, "\n".join(wrong)


def test_failed_ingests_leave_no_complete_run_and_no_rows(ran_corpus):
    home, results = ran_corpus
    failed_sources = [str(Path(source).resolve()) for case, source, ran in results if ran.code != 0]
    runs = lake_rows(home, "select run_id, status, source_uri from lake.runs")
    failed_ids = [run_id for run_id, status, uri in runs
                  if any(uri and uri.startswith(s) for s in failed_sources)]
    assert all(status == "failed" for run_id, status, _ in runs if run_id in failed_ids)
    tables = [t for (t,) in lake_rows(home, "select table_name from information_schema.tables "
                                            "where table_schema = 'lake' and table_name not in "
                                            "('runs', 'run_events', 'problems', 'verdicts', 'answer_clusters')")]
    leaked = {t: n for t in tables
              if (n := lake_rows(home, f"select count(*) from lake.{t} where run_id in (select unnest(?))",
                                 [failed_ids])[0][0])}
    assert not leaked, f"rows of failed runs visible in lake views: {leaked}"


SAMPLED = ("valid", "deep nesting beyond the recursion limit", "not UTF-8", "truncated last line", "truncated",
           "a lone surrogate", "empty")


def test_a_child_ttsw_prints_one_line_and_no_traceback(real_data, tmp_path):
    """A sample of the corpus through the installed console command, with and without --keep-going."""
    cases = [c for c in corpus(real_data) if c.name.split(": ")[-1] in SAMPLED or "surrogate" in c.name]
    picked = {}
    for case in cases:  # two per format keeps the children few
        if sum(1 for c in picked.values() if c.fmt == case.fmt) < 2 and case.outcome == ERROR:
            picked[(case.fmt, case.name)] = case
    assert len(picked) >= 12
    home = tmp_path / "home"
    for i, case in enumerate(picked.values()):
        folder = tmp_path / f"{i:02d}"
        folder.mkdir()
        source = case.write(folder)
        keep_going = ("--keep-going",) if i % 2 else ()
        ran = ttsw_child(home, "ingest", "--no-progress", *keep_going, "--format", case.fmt, *case.args,
                         str(source))
        assert "Traceback" not in ran.stdout + ran.stderr, (case.name, ran.stderr)
        lines = ran.error_lines()
        assert ran.code == 1 and len(lines) == 1 and source.name in lines[0], (case.fmt, case.name, ran)


def test_a_torn_part_is_named_by_runs_list_grade_and_build(tmp_path):
    home = tmp_path / "home"
    source = text_file("topk.jsonl", jsonl(TOPK))(tmp_path)
    assert ttsw_in_process(home, "ingest", "--no-progress", str(source)).code == 0
    (part,) = (home / "lake" / "token_topk").rglob("part-*.parquet")
    part.write_bytes(part.read_bytes()[:40])
    for command in (("runs", "list"), ("grade",), ("build",)):
        ran = ttsw_in_process(home, *command)
        lines = ran.error_lines()
        assert ran.code == 1 and len(lines) == 1, (command, ran)
        assert part.name in lines[0] and "ttsw check" in lines[0] and "Traceback" not in ran.stdout, (command, lines)

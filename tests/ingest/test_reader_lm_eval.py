"""The lm-eval reader, on an output folder that lm-eval itself wrote (a tiny random model, see
lm_eval_fixture/), and on damaged copies of it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lakecheck import lake
from ingest.readers import get_reader
from ingest.readers.base import SourceError
from ingest.readers.lm_eval import DUPLICATE_LINE, READER
from ingest.runner import ingest
from warehouse.problems import problem_id

TASK = "ttsw_tiny_qa"



@pytest.fixture
def run_dir(lm_eval_out, tmp_path) -> Path:
    """A private copy of the model folder (results + samples), safe to damage."""
    (model_dir,) = [p for p in lm_eval_out.iterdir() if p.is_dir()]
    return Path(shutil.copytree(model_dir, tmp_path / "out" / model_dir.name))


def files(folder: Path) -> tuple[Path, Path]:
    (results,) = folder.glob("results_*.json")
    (samples,) = folder.glob("samples_*.jsonl")
    return results, samples


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]



def run(home, source, **options):
    return ingest(home, [str(source)], fmt="lm-eval", options=options, progress=False)


def test_lm_eval_wrote_what_the_tests_rely_on(lm_eval_out):
    results, samples = files(next(p for p in lm_eval_out.iterdir() if p.is_dir()))
    records = lines(samples)
    assert {r["filter"] for r in records} == {"strict-match", "flexible-extract", "every-repeat"}
    assert all(len(r["resps"]) == 1 and len(r["resps"][0]) == 2 for r in records)  # 1 request, 2 repeats
    assert json.loads(results.read_text())["configs"][TASK]["repeats"] == 2


def test_samples_become_one_row_per_doc_filter_repeat(home, run_dir):
    summary = run(home, run_dir)
    assert summary.written and not summary.skipped
    results, samples = files(run_dir)
    records = lines(samples)
    rows = lake(home, "select doc_id, filter, repeat_idx, target, response, filtered_response, metrics, "
                       "exact_match, acc, doc_hash, prompt_hash, target_hash, task from lake.lm_eval_samples")
    assert len(rows) == 2 * len(records)
    got = {(r[0], r[1], r[2]): r for r in rows}
    for record in records:
        for repeat in range(2):
            row = got[(record["doc_id"], record["filter"], repeat)]
            filtered = record["filtered_resps"][0]
            expected_filtered = filtered[repeat] if record["filter"] == "every-repeat" else filtered
            assert row[3:] == (record["target"], record["resps"][0][repeat], expected_filtered,
                               json.dumps({"exact_match": record["exact_match"]}), record["exact_match"], None,
                               record["doc_hash"], record["prompt_hash"], record["target_hash"], TASK)


def test_text_responses_become_completions_that_grading_grades(home, run_dir):
    from ingest.grading.pipeline import grade

    run(home, run_dir)
    records = [r for r in lines(files(run_dir)[1]) if r["filter"] == "strict-match"]
    rows = lake(home, "select problem_id, sample_idx, text, temperature, source_answer, source_is_correct "
                       "from lake.completions")
    expected = {(problem_id(TASK, str(r["doc_id"])), repeat, r["resps"][0][repeat], 1.0, None, None)
                for r in records for repeat in range(2)}  # two repeats, metrics per doc: no per-response claim
    assert set(rows) == expected and len(rows) == len(expected)
    grade(home, progress=False)
    assert lake(home, "select count(*) from lake.answers") == [(len(expected),)]


def test_claims_run_and_problems(home, run_dir):
    run(home, run_dir)
    results = json.loads(files(run_dir)[0].read_text())
    claims = {(claim, method): value for claim, method, value in lake(
        home, "select claim, method, value from lake.source_claims where problem_id is null")}
    expected = {(f"{TASK}/{k}", None): v for k, v in results["results"][TASK].items() if "," in k}
    expected[(f"{TASK}/n-samples", "docs_claimed")] = results["n-samples"][TASK]["effective"]  # limit=4
    assert claims == expected and (f"{TASK}/exact_match,strict-match", None) in claims
    assert expected[(f"{TASK}/n-samples", "docs_claimed")] == 4
    (row,) = lake(home, "select approach, model, dataset, n, decoder, temperature, max_tokens, config, "
                         "decoder_params, versions from lake.runs")
    assert row[:7] == ("lm_eval", results["model_name"], TASK, 2, "sampling", 1.0, 8)
    assert json.loads(row[7]) == {**results["config"], "answer_filter": {TASK: "flexible-extract"}}
    assert json.loads(row[8]) == {"until": ["\n"], "max_gen_toks": 8, "do_sample": True, "temperature": 1.0}
    assert json.loads(row[9])["lm_eval_version"] == results["lm_eval_version"]
    problems = lake(home, "select problem_id, dataset, original_id, problem, gold_answer from lake.problems "
                           "order by original_id")
    assert problems[0] == (problem_id(TASK, "0"), TASK, "0", "what colour is the sky on a clear day", "blue")
    assert len(problems) == 4


def test_every_form_of_the_source_is_one_run_and_reingest_is_a_no_op(home, run_dir):
    first = run(home, run_dir.parent)                   # lm-eval's --output_path folder
    assert len(first.written) == 1
    for source in (run_dir, files(run_dir)[0], run_dir.parent):  # model subfolder, results file, again
        again = run(home, source)
        assert again.written == [] and len(again.unchanged) == 1
    assert lake(home, "select count(*), min(status) from lake.runs") == [(1, "complete")]


def test_sniff_and_listing(run_dir):
    results, samples = files(run_dir)
    assert READER.sniff(str(run_dir)) and READER.sniff(str(run_dir.parent)) and READER.sniff(str(results))
    assert not READER.sniff(str(samples))
    (listing,) = READER.list_runs(str(run_dir.parent), {})
    assert listing.details == {"tasks": TASK, "samples files": 1}


def test_results_embedding_samples_are_read_too(home, run_dir, tmp_path):
    results, samples = files(run_dir)
    document = json.loads(results.read_text())
    document["samples"] = {TASK: lines(samples)}
    path = tmp_path / "Model_20250101_123456.json"
    path.write_text(json.dumps(document))
    run(home, path)
    assert lake(home, "select count(*) from lake.lm_eval_samples") == [(2 * len(lines(samples)),)]


def damage(path: Path, edit) -> None:
    records = lines(path)
    path.write_text("".join(json.dumps(r) + "\n" for r in edit(records)), encoding="utf-8")


def expect_no_complete_run(home):
    statuses = {s for (s,) in lake(home, "select status from lake.runs")} if (home.lake / "runs").exists() else set()
    assert "complete" not in statuses


@pytest.mark.parametrize("edit, message", [
    (lambda rs: [{k: v for k, v in r.items() if k != "resps"} if i == 2 else r for i, r in enumerate(rs)],
     r"samples_ttsw_tiny_qa_.*\.jsonl:3: field 'resps': missing"),
    (lambda rs: [{**r, "doc_id": "zero"} if i == 0 else r for i, r in enumerate(rs)],
     r"\.jsonl:1: field 'doc_id': expected an integer, got a string"),
    (lambda rs: [{**r, "filtered_resps": ["a", "b"]} if i == 1 else r for i, r in enumerate(rs)],
     r"\.jsonl:2: field 'filtered_resps': has 2 entries but resps has 1 requests"),
    (lambda rs: [{**r, "resps": [["only one"], ["a", "b"]], "filtered_resps": [1, 2]} if i == 0 else r
                 for i, r in enumerate(rs)], r"\.jsonl:1: field 'resps': expected the same number"),
    (lambda rs: rs + [{**rs[0], "resps": [["changed", "x"]]}], r"\.jsonl:13: field 'doc_id': doc_id 0 under filter "
                                                                r"'strict-match' appears again with different content \(first at line 1\)"),
])
def test_bad_samples_lines_are_errors_naming_file_line_field(home, run_dir, edit, message):
    damage(files(run_dir)[1], edit)
    with pytest.raises(SourceError, match=message):
        run(home, run_dir)
    expect_no_complete_run(home)


@pytest.mark.parametrize("content, message", [
    (lambda raw: raw[:-40], r"\.jsonl:12: last line ends early \(truncated\?\)"),
    (lambda raw: b"", r"\.jsonl: empty file"),
    (lambda raw: raw.replace(b"what colour", b"what col\xffour", 1), r"\.jsonl:1: not UTF-8: byte 0xff"),
])
def test_unreadable_samples_files_are_errors(home, run_dir, content, message):
    samples = files(run_dir)[1]
    samples.write_bytes(content(samples.read_bytes()))
    with pytest.raises(SourceError, match=message):
        run(home, run_dir)
    expect_no_complete_run(home)


def test_bad_results_files_are_errors(home, run_dir):
    results = files(run_dir)[0]
    results.write_text('{"results": {"ttsw_tiny_qa": {"exact_match,strict-match": 0.5}')
    with pytest.raises(SourceError, match=r"results_.*\.json:1: file ends early"):
        run(home, run_dir)
    results.write_text('{"results": [1, 2]}')
    with pytest.raises(SourceError, match=r"field 'results': not an lm-eval results file"):
        run(home, run_dir)
    expect_no_complete_run(home)


def test_identical_duplicate_lines_are_skipped_and_counted(home, run_dir):
    damage(files(run_dir)[1], lambda rs: rs + rs[:2])
    summary = run(home, run_dir)
    assert summary.skipped == {DUPLICATE_LINE: 2}
    assert lake(home, "select count(*) from lake.lm_eval_samples") == [(24,)]


def test_huge_lines_are_read_whole(home, run_dir):
    long_response = "word " * 2_000_000  # a 10 MB response
    damage(files(run_dir)[1], lambda rs: [{**r, "resps": [[long_response, "b"]]} if i == 0 else r
                                          for i, r in enumerate(rs)])
    run(home, run_dir)
    assert lake(home, "select max(length(response)) from lake.lm_eval_samples") == [(len(long_response),)]


def test_missing_samples_files_leave_a_run_of_claims_with_a_warning(home, run_dir):
    files(run_dir)[1].unlink()
    summary = run(home, run_dir)
    assert summary.rows == {"source_claims": 6 + 1}  # the aggregates and the docs claimed
    assert any(f"task {TASK}: 0 of 4 docs logged (no samples file: run without --log_samples?)" in w
               for w in summary.warnings)


def test_unknown_format_and_missing_source():
    with pytest.raises(SourceError, match="unknown format"):
        get_reader("lm-eval-v9")
    with pytest.raises(SourceError, match="no such file or folder"):
        list(READER.read("/nonexistent/out", {}))


def test_cli_ingests_an_output_folder(tmp_path, run_dir):
    home = tmp_path / "cli-home"
    command = [sys.executable, "-m", "ttsw", "--home", str(home), "ingest", str(run_dir.parent),
               "--format", "lm-eval", "--no-progress"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "runs written: 1" in done.stdout and "lm_eval_samples: 24 rows" in done.stdout
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert "already complete: 1" in again.stdout


# --- small lm-eval folders written here: names, pairing, LFS pointers, partial logs, answer filters ---

T1, T2 = "2025-01-02T03-04-05.000001", "2025-06-07T08-09-10.000002"
LFS_POINTER = ("version https://git-lfs.github.com/spec/v1\n"
               "oid sha256:ef98086aa6570aff157b98eb4adfdaa5c54067571618680bc462002590c5ebc8\nsize 42807696\n")


def results_doc(tasks: dict[str, int], filters=("strict-match", "flexible-extract"), score=0.5) -> dict:
    """A results document as lm-eval 0.4 writes it: tasks -> docs claimed (n-samples effective)."""
    return {"results": {t: {"alias": t, **{f"exact_match,{f}": score for f in filters}} for t in tasks},
            "configs": {t: {"task": t, "output_type": "generate_until"} for t in tasks},
            "versions": {t: 3.0 for t in tasks},
            "n-samples": {t: {"original": 1000, "effective": n} for t, n in tasks.items()},
            "config": {"model": "hf", "model_args": "pretrained=org/tiny"}, "model_name": "org/tiny"}


def sample_line(doc_id: int, filt: str, answer: str, correct: bool) -> dict:
    return {"doc_id": doc_id, "doc": {"question": f"q{doc_id}"}, "target": "#### 7",
            "arguments": {"gen_args_0": {"arg_0": f"Q: q{doc_id}"}}, "resps": [[f"text {doc_id} so 7"]],
            "filtered_resps": [answer], "filter": filt, "metrics": ["exact_match"],
            "exact_match": float(correct)}


def write_run(folder: Path, results_name: str, tasks: dict[str, int], docs: dict[str, list[tuple]],
              samples_time: str | None, **results_kwargs) -> Path:
    """docs: task -> [(doc_id, filter, answer, correct)]; samples files named with `samples_time`."""
    folder.mkdir(parents=True, exist_ok=True)
    results = folder / results_name
    results.write_text(json.dumps(results_doc(tasks, **results_kwargs), indent=2))
    for task, rows in docs.items():
        name = f"samples_{task}_{samples_time}.jsonl" if samples_time else f"samples_{task}.jsonl"
        (folder / name).write_text("".join(json.dumps(sample_line(*row)) + "\n" for row in rows))
    return results


def ingest_detected(home, source, **options):
    return ingest(home, [str(source)], options=options, progress=False)


@pytest.mark.parametrize("filters, chosen", [
    (["strict-match", "flexible-extract"], "flexible-extract"),
    (["flexible-extract", "strict-match"], "flexible-extract"),
    (["custom-extract"], "custom-extract"),
    (["strict-match", "custom-extract", "flexible-extract"], "flexible-extract"),
    (["strict-match", "regex-extract", "answer-extract"], "answer-extract"),
    (["strict-match", "none"], "none"),
    (["strict-match"], "strict-match"),
    (["take_first", "maj@8"], "maj@8"),
    ([], None),
])
def test_answer_filter_is_the_headline_filter(filters, chosen):
    from ingest.readers.lm_eval import answer_filter

    assert answer_filter(filters) == chosen


def test_a_results_file_under_any_name_is_found_by_content(home, tmp_path):
    folder = tmp_path / "gsm8k"
    results = write_run(folder, f"gsm8k-phi-3-mini_{T1}.json", {"gsm8k": 2},
                        {"gsm8k": [(0, "strict-match", "[invalid]", False), (1, "strict-match", "7", True),
                                   (0, "flexible-extract", "7", True), (1, "flexible-extract", "7", True)]}, T1)
    (folder / "notes.json").write_text('{"results": {"gsm8k": 1}, "author": "me"}')    # no lm-eval key
    (folder / "prm.json").write_text('{"metadata": {}, "results": [], "configs": {}}')  # results not an object
    assert READER.sniff(str(folder)) and READER.sniff(str(results)) and READER.sniff(str(tmp_path))
    assert not READER.sniff(str(folder / "notes.json")) and not READER.sniff(str(folder / "prm.json"))
    summary = ingest_detected(home, folder)  # no --format: sniffed
    assert len(summary.written) == 1 and summary.rows["lm_eval_samples"] == 4 and summary.rows["completions"] == 2
    (listing,) = READER.list_runs(str(tmp_path), {})
    assert listing.details == {"tasks": "gsm8k", "samples files": 1}


def test_samples_pair_by_time_then_by_the_results_task_list(home, tmp_path):
    folder = tmp_path / "out"
    write_run(folder, f"a_{T1}.json", {"gsm8k": 1}, {"gsm8k": [(0, "strict-match", "7", True)]}, T1)
    write_run(folder, f"b_{T2}.json", {"gsm8k": 2}, {"gsm8k": [(0, "strict-match", "7", True),
                                                                (1, "strict-match", "8", False)]}, T2)
    summary = ingest_detected(home, folder)
    assert len(summary.written) == 2 and summary.rows["lm_eval_samples"] == 3
    by_run = dict(lake(home, "select r.name, count(*) from lake.lm_eval_samples s join lake.runs r using (run_id) "
                             "group by 1"))
    assert by_run == {f"out/a_{T1}": 1, f"out/b_{T2}": 2}

    renamed = tmp_path / "renamed"  # the results' time is gone: the task list pairs them
    write_run(renamed, "final_results.json", {"arc_easy": 1, "gsm8k": 1},
              {"gsm8k": [(0, "strict-match", "7", True)], "unrelated_task": [(0, "none", "x", False)]}, T1)
    write_run(renamed / "untimed", "eval.json", {"gsm8k": 1}, {"gsm8k": [(0, "strict-match", "9", False)]}, None)
    summary = ingest_detected(home, renamed)  # a folder's runs at any depth, each with the samples beside it
    assert summary.rows["lm_eval_samples"] == 2  # gsm8k's file, not unrelated_task's; untimed/samples_gsm8k.jsonl
    by_run = dict(lake(home, "select r.name, count(*) from lake.lm_eval_samples s join lake.runs r using (run_id) "
                             "group by 1"))
    assert by_run["renamed/final_results"] == 1 and by_run["untimed/eval"] == 1

    (renamed / f"samples_gsm8k_{T2}.jsonl").write_text(json.dumps(sample_line(0, "strict-match", "7", True)) + "\n")
    with pytest.raises(SourceError, match=rf"final_results\.json: samples files of its tasks carry 2 different times "
                                          rf"\({T1}, {T2}\).*give each run's files a folder of their own"):
        ingest_detected(home, renamed)


def test_git_lfs_pointers_are_named_wherever_json_is_read(tmp_path):
    from ingest.readers.jsonio import LfsPointer, head_keys, iter_jsonl, load_json

    pointer = tmp_path / "samples_x_1.jsonl"
    pointer.write_text(LFS_POINTER)
    message = r"samples_x_1\.jsonl: this is a Git LFS pointer, not the file: run `git lfs pull`"
    for read in (load_json, lambda p: list(iter_jsonl(p)), lambda p: list(iter_jsonl(p, objects=False)), head_keys):
        with pytest.raises(LfsPointer, match=message):
            read(pointer)
    assert isinstance(LfsPointer(pointer), SourceError)


def test_samples_that_are_lfs_pointers_leave_a_run_of_claims_with_a_warning_each(home, tmp_path):
    folder = tmp_path / "out" / "org__tiny"
    write_run(folder, f"results_{T1}.json", {"gsm8k": 2, "arc_easy": 3}, {"gsm8k": [(0, "strict-match", "7", True)]}, T1,
              filters=("none",))
    (folder / f"samples_gsm8k_{T1}.jsonl").write_text(LFS_POINTER)
    (folder / f"samples_arc_easy_{T1}.jsonl").write_text(LFS_POINTER)
    summary = ingest_detected(home, tmp_path / "out")
    assert len(summary.written) == 1 and "lm_eval_samples" not in summary.rows
    pointer_warnings = [w for w in summary.warnings if "Git LFS pointer" in w]
    assert len(pointer_warnings) == 2 and all("run `git lfs pull` and ingest again" in w for w in pointer_warnings)
    assert any(f"samples_arc_easy_{T1}.jsonl is a Git LFS pointer" in w for w in pointer_warnings)
    assert not any("docs logged" in w for w in summary.warnings)  # the pointer warnings say it
    claims = dict(lake(home, "select claim, value from lake.source_claims"))
    assert claims == {"gsm8k/exact_match,none": 0.5, "arc_easy/exact_match,none": 0.5,
                      "gsm8k/n-samples": 2.0, "arc_easy/n-samples": 3.0}


def test_a_results_file_that_is_an_lfs_pointer_is_a_one_line_error(home, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / f"results_{T1}.json").write_text(LFS_POINTER)
    with pytest.raises(SourceError, match=rf"results_{T1}\.json: this is a Git LFS pointer, not the file"):
        ingest_detected(home, folder)
    renamed = tmp_path / "model_results.json"
    renamed.write_text(LFS_POINTER)
    with pytest.raises(SourceError, match=r"model_results\.json: this is a Git LFS pointer"):
        ingest_detected(home, renamed)  # while sniffing: no format can be told from a pointer
    expect_no_complete_run(home)


def test_partial_logs_are_warned_per_task_and_the_claimed_docs_kept(home, tmp_path):
    few = write_run(tmp_path / "few", f"results_{T1}.json", {"gsm8k": 3, "math": 2},
                    {"gsm8k": [(0, "strict-match", "7", True), (1, "strict-match", "7", True),
                               (1, "flexible-extract", "7", True), (0, "flexible-extract", "7", True)],
                     "math": [(0, "none", "7", True), (1, "none", "7", True)]}, T1)
    summary = ingest_detected(home, few)
    assert [w.split(": ", 1)[1] for w in summary.warnings if "docs logged" in w] == ["task gsm8k: 2 of 3 docs logged"]
    assert dict(lake(home, "select claim, value from lake.source_claims where method = 'docs_claimed'")) == {
        "gsm8k/n-samples": 3.0, "math/n-samples": 2.0}
    many = write_run(tmp_path / "many", f"results_{T1}.json", {f"t{i}": 5 for i in range(5)},
                     {"t0": [(0, "none", "7", True)]}, T1)
    summary = ingest_detected(home, many)
    (line,) = [w for w in summary.warnings if "docs logged" in w]
    assert line.endswith("5 tasks have fewer docs logged than the results claim: "
                         "t0 1 of 5, t1 0 of 5, t2 0 of 5, t3 0 of 5, t4 0 of 5")


def test_original_count_is_claimed_when_there_is_no_effective_one(home, tmp_path):
    results = write_run(tmp_path / "o", f"results_{T1}.json", {"gsm8k": 1}, {"gsm8k": [(0, "none", "7", True)]}, T1)
    document = json.loads(results.read_text())
    document["n-samples"] = {"gsm8k": {"original": 1}}
    results.write_text(json.dumps(document))
    summary = ingest_detected(home, results)
    assert not any("docs logged" in w for w in summary.warnings)
    assert lake(home, "select value from lake.source_claims where claim = 'gsm8k/n-samples'") == [(1.0,)]


def test_source_answers_come_from_the_answer_filter(home, tmp_path):
    write_run(tmp_path / "f", f"results_{T1}.json", {"gsm8k": 2},
              {"gsm8k": [(0, "strict-match", "[invalid]", False), (1, "strict-match", "[invalid]", False),
                         (0, "flexible-extract", "7", True), (1, "flexible-extract", "8", False)]}, T1)
    ingest_detected(home, tmp_path / "f")
    assert lake(home, "select source_answer, source_is_correct from lake.completions order by problem_id") == sorted(
        [("7", True), ("8", False)], key=lambda row: problem_id("gsm8k", "0" if row[0] == "7" else "1"))
    (config,) = lake(home, "select config from lake.runs")
    assert json.loads(config[0])["answer_filter"] == {"gsm8k": "flexible-extract"}

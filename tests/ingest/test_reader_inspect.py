"""The Inspect AI log reader: Inspect's own test logs (.eval and .json), and logs made here by Inspect
itself on tiny local tasks with the `mockllm/model` provider (no network)."""

from __future__ import annotations

import collections
import math
import re
import shutil
import sys
from pathlib import Path

import pytest

from lakecheck import lake, nothing_complete
from ingest.readers import detect
from ingest.readers.base import SourceError
from ingest.readers.inspect_log import ERRORED_SAMPLE, INSTALL_HINT, READER
from ingest.runner import ingest

INSPECT = "inspect_ai"
JSON_LOG = f"{INSPECT}/tests/log/test_eval_log/log_formats.json"
SCORER_LOG = f"{INSPECT}/tests/scorer/logs/2025-02-11T15-17-00-05-00_popularity_dPiJifoWeEQBrfWsAopzWr.eval"
CHOICES_LOG = f"{INSPECT}/tests/analysis/test_logs_choices/mmlu-summary-choices.eval"

# per real log: runs columns, completions (text, source_answer, source_is_correct), source claims
REAL = {
    JSON_LOG: ({"model": "ollama/llama3.1", "dataset": "popularity", "n": 1, "temperature": 1.0},
               [("No", "No", False)],
               {("1", "match"): 0.0, (None, "match/accuracy"): 0.0, (None, "match/stderr"): 0.0}),
    SCORER_LOG: ({"model": "openai/gpt-4o-mini", "dataset": "popularity", "n": 1, "temperature": None},
                 [(t, None, None) for t in ["Yes", "No", "No", "No", "Yes", "No", "No", "No", "Yes", "No"]],
                 {}),  # its samples were logged unscored (the scorer tests score them again)
    CHOICES_LOG: ({"model": "openai/gpt-4o", "dataset": "cais/mmlu", "n": 1, "temperature": 0.0},
                  [("ANSWER: C", "C", False)],
                  {("1", "choice"): 0.0, (None, "choice/accuracy"): 0.0, (None, "choice/stderr"): 0.0}),
}


def claims(home, run_name: str) -> dict[tuple[str | None, str], float]:
    rows = lake(home, "select p.original_id, c.claim, c.value from lake.source_claims c "
                      "join lake.runs r using (run_id) left join lake.problems p using (problem_id) "
                      f"where r.name = '{run_name}'")
    return {(original_id, claim): value for original_id, claim, value in rows}


def assert_metrics_agree(found: dict[tuple[str | None, str], float], scorer: str) -> None:
    """Inspect's accuracy is the mean of the per-sample scores (reduced over epochs): ours must be too."""
    per_sample = [v for (pid, claim), v in found.items() if pid is not None and claim == scorer]
    assert per_sample and math.isclose(found[(None, f"{scorer}/accuracy")], sum(per_sample) / len(per_sample))


@pytest.mark.parametrize("name", list(REAL))
def test_each_real_log_ingests_and_agrees_with_its_results(home, real_data, name):
    path = real_data / name
    summary = ingest(home, [str(path)], fmt="inspect", progress=False)
    run_columns, expected_completions, expected_claims = REAL[name]
    [(run_name, status, approach, *values)] = lake(
        home, f"select name, status, approach, {', '.join(run_columns)} from lake.runs")
    assert (status, approach) == ("complete", "inspect") and run_name.endswith(path.stem)
    assert dict(zip(run_columns, values)) == run_columns
    completions = lake(home, "select text, source_answer, source_is_correct from lake.completions "
                             "join lake.problems using (problem_id) order by cast(original_id as int)")
    assert completions == expected_completions
    found = claims(home, run_name)
    assert found == expected_claims
    for scorer in {claim for pid, claim in found if pid is not None}:
        assert_metrics_agree(found, scorer)
    assert summary.rows["completions"] == len(expected_completions)


def test_the_real_folder_ingests_without_flags_and_again_changes_nothing(home, real_data):
    folder = str(real_data / INSPECT)
    assert detect(folder) is READER and all(detect(str(real_data / name)) is READER for name in REAL)
    first = ingest(home, [folder], progress=False)
    assert len(first.written) == 3 and first.rows["completions"] == 12
    again = ingest(home, [folder], progress=False)
    assert (again.written, len(again.unchanged)) == ([], 3)
    choices = lake(home, "select problem, gold_answer, subject from lake.problems where dataset = 'cais/mmlu'")
    [(problem, gold, subject)] = choices
    assert problem.endswith("A) 6.0 e\nB) 6.8 eV\nC) 12.2 eV\nD) 13.6 eV") and (gold, subject) == ("A", "college_physics")


# ---- logs made by Inspect itself -------------------------------------------------------------

MATH_ANSWERS = {"What is 2+3?": ["5", "6", "5"], "What is 7*6?": ["42", "42", "42"]}  # per call, in order


@pytest.fixture(scope="module")
def made_logs(tmp_path_factory) -> dict[str, Path]:
    """Three logs from `inspect_ai.eval` on mockllm: a math task over 3 epochs, a chat task with a
    partial score and a sample that fails, and an eval that fails as a whole (no samples)."""
    pytest.importorskip("inspect_ai")
    from inspect_ai import Task, eval as inspect_eval
    from inspect_ai.dataset import Sample
    from inspect_ai.model import ChatMessageSystem, ChatMessageUser, ModelOutput, ModelUsage, get_model
    from inspect_ai.scorer import Score, accuracy, match, scorer
    from inspect_ai.solver import generate

    calls: collections.Counter = collections.Counter()

    def reply(input, tools, tool_choice, config):
        question = input[-1].text
        if "fail" in question:
            raise RuntimeError("the model is down")
        calls[question] += 1
        answers = MATH_ANSWERS.get(question, [question.upper()])
        output = ModelOutput.from_content(model="mockllm", content=f"The answer is {answers[(calls[question] - 1) % 3]}")
        output.usage = ModelUsage(input_tokens=5, output_tokens=4, total_tokens=9)  # else tiktoken downloads
        return output

    @scorer(metrics=[accuracy()])
    def graded():
        async def score(state, target):
            value = "C" if any(t in state.output.completion for t in target.target) else "P"
            return Score(value=value, answer=state.output.completion[-3:])
        return score

    root = tmp_path_factory.mktemp("inspect-logs")
    model = get_model("mockllm/model", custom_outputs=reply)
    settings = dict(display="none", log_format="eval")
    math_task = Task(name="tiny_math", scorer=match(location="end"), solver=generate(),
                     dataset=[Sample(id="a", input="What is 2+3?", target="5"),
                              Sample(id="b", input="What is 7*6?", target="42")])
    inspect_eval(math_task, model=model, epochs=3, temperature=0.7, seed=1, max_tokens=64,
                 log_dir=str(root / "math"), **settings)
    chat = [ChatMessageSystem(content="Be brief."), ChatMessageUser(content="say abc")]
    chat_task = Task(name="tiny_chat", scorer=graded(), solver=generate(),
                     dataset=[Sample(id=1, input=chat, target=["ABC", "abc"]),
                              Sample(id=2, input="say xyz", target="nope"),
                              Sample(id=3, input="fail now", target="x")])
    inspect_eval(chat_task, model=model, fail_on_error=False, log_dir=str(root / "chat"), log_format="json",
                 display="none")
    broken = Task(name="tiny_broken", scorer=match(), solver=generate(), dataset=[Sample(input="fail", target="x")])
    inspect_eval(broken, model=model, log_dir=str(root / "broken"), **settings)
    return {kind: next((root / kind).iterdir()) for kind in ("math", "chat", "broken")}


def test_a_math_eval_over_epochs(home, made_logs):
    from inspect_ai.log import read_eval_log

    ingest(home, [str(made_logs["math"])], fmt="inspect", progress=False)
    [run] = lake(home, "select name, model, dataset, n, temperature, seed, max_tokens, decoder from lake.runs")
    assert run[1:] == ("mockllm/model", "tiny_math", 3, 0.7, 1, 64, "sampling") and run[0].startswith("tiny_math/")
    rows = lake(home, "select original_id, sample_idx, text, source_is_correct, temperature from lake.completions "
                      "join lake.problems using (problem_id) order by original_id, sample_idx")
    assert len(rows) == 6 and {r[4] for r in rows} == {0.7}
    # which epoch got which reply depends on Inspect's scheduling: compare per sample, and with the log
    by_sample = collections.defaultdict(list)
    for original_id, _, text, correct, _ in rows:
        by_sample[original_id].append((text, correct))
    assert sorted(by_sample["a"]) == [("The answer is 5", True)] * 2 + [("The answer is 6", False)]
    assert by_sample["b"] == [("The answer is 42", True)] * 3
    log = read_eval_log(str(made_logs["math"]))
    assert {(s.id, s.epoch - 1, s.output.completion) for s in log.samples} == {r[:3] for r in rows}
    found = claims(home, run[0])
    assert found[("a", "match")] == pytest.approx(2 / 3) and found[("b", "match")] == 1.0
    assert sorted(v for (pid, c), v in found.items() if pid == "a" and "@epoch" in c) == [0.0, 1.0, 1.0]
    assert found[(None, "match/accuracy")] == pytest.approx(log.results.scores[0].metrics["accuracy"].value)
    assert_metrics_agree(found, "match")


def test_a_chat_eval_with_a_partial_score_and_a_failed_sample(home, made_logs):
    summary = ingest(home, [str(made_logs["chat"])], fmt="inspect", progress=False)
    assert summary.skipped[ERRORED_SAMPLE] == 1
    problems = lake(home, "select original_id, problem, gold_answer from lake.problems order by original_id")
    assert problems == [("1", "Be brief.\n\nsay abc", "ABC | abc"), ("2", "say xyz", "nope"), ("3", "fail now", "x")]
    rows = lake(home, "select original_id, text, source_answer, source_is_correct from lake.completions "
                      "join lake.problems using (problem_id) order by original_id")
    assert rows == [("1", "The answer is SAY ABC", "ABC", True), ("2", "The answer is SAY XYZ", "XYZ", None)]
    [name] = lake(home, "select name from lake.runs")[0]
    found = claims(home, name)
    assert (found[("1", "graded")], found[("2", "graded")]) == (1.0, 0.5)
    assert found[(None, "graded/accuracy")] == 0.75


def test_an_eval_that_failed_is_a_run_with_a_warning(home, made_logs):
    summary = ingest(home, [str(made_logs["broken"])], fmt="inspect", progress=False)
    assert lake(home, "select status, n from lake.runs") == [("complete", 1)]
    assert lake(home, "select count(*) from lake.completions") == [(0,)]
    assert any("status 'error'" in w and "the model is down" in w for w in summary.warnings)
    assert any("no completed samples" in w for w in summary.warnings)


# ---- bad input ------------------------------------------------------------------------------

def _truncated_eval(path: Path, real: Path) -> None:
    path.write_bytes((real / SCORER_LOG).read_bytes()[:5000])


def _truncated_json(path: Path, real: Path) -> None:
    path.write_bytes((real / JSON_LOG).read_bytes()[:3000])


def _not_utf8(path: Path, real: Path) -> None:
    path.write_bytes((real / JSON_LOG).read_bytes().replace(b'"popularity"', b'"popul\xffrity"', 1))


@pytest.mark.parametrize("make, suffix, message", [
    (_truncated_eval, ".eval", "not a zip archive"),
    (_truncated_json, ".json", ":122: file ends early (truncated?)"),
    (_not_utf8, ".json", ":7: not UTF-8: byte 0xff"),
])
def test_bad_input_is_one_line_naming_the_file(home, real_data, tmp_path, make, suffix, message):
    pytest.importorskip("inspect_ai")
    path = tmp_path / f"bad{suffix}"
    make(path, real_data)
    with pytest.raises(SourceError) as error:
        ingest(home, [str(path)], fmt="inspect", progress=False)
    assert str(error.value).startswith(str(path)) and message in str(error.value)
    assert "\n" not in str(error.value) and nothing_complete(home)


def test_without_the_extra_logs_are_still_recognised(real_data, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "inspect_ai", None)  # `import inspect_ai` now fails
    copied = tmp_path / "logs"
    shutil.copytree(real_data / INSPECT, copied)
    assert READER.sniff(str(copied)) and all(READER.sniff(str(copied / name.split("/", 1)[1])) for name in REAL)
    with pytest.raises(SourceError, match=re.escape(f"mmlu-summary-choices.eval: {INSTALL_HINT}")):
        list(READER.read(str(copied), {}))
    other = tmp_path / "other.json"
    other.write_text('{"version": 1, "results": {}}')
    assert not READER.sniff(str(other))

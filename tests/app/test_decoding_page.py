"""The decoding page: low-confidence accuracy by bin and verification by candidate position, on
hand-made marts (every number known) and on the tiny demo warehouse, every control, the empty
states, and the page in headless Chromium."""

from __future__ import annotations

import json

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app import charts, charts_decoding, data
from app.queries import decoding as queries
from browser import check_page, chromium_page
from warehouse.home import Home

PAGE = "views/decoding.py"
# runs of tests/app/conftest.py's runs_summary: created 12:00 and 13:00, so B is the newer
RUN_A, RUN_B = "run00" + "0" * 10, "run01" + "0" * 10
LABEL_A, LABEL_B = "bon-qwen-t0.8-s0", "bon-qwen-t0.8-s1"

LOW_CONFIDENCE = [
    # run, analysis, bin, bin_order, unit, correct, total
    (RUN_A, "by_count", "0", 0, "response", 3, 4),
    (RUN_A, "by_count", "20+", 20, "response", 0, 1),
    (RUN_A, "by_count", "1", 1, "response", 1, 2),
    (RUN_A, "by_rank", "10+", 10, "step", 1, 4),
    (RUN_A, "by_rank", "1", 1, "step", 5, 10),
    (RUN_A, "majority_by_mean_rank", "1.5", 2, "problem", 2, 3),
    (RUN_B, "by_count", "2", 2, "response", 0, 2),
    (RUN_B, "by_count", "0", 0, "response", 1, 1),
]
# the candidates of tests/dbt's candidate_position unit test for run A (problems a, b in math, c in
# code, d without a split); run B: two problems, both right at candidate 0 only
CANDIDATES = [
    # run, split, idx, samples, verified, first_verified, problems, first rate, any rate
    (RUN_A, "math", 0, 2, 1, 1, 2, 0.5, 1.0),
    (RUN_A, "math", 1, 2, 1, 1, 2, 0.5, 1.0),
    (RUN_A, "math", 2, 2, 1, 0, 2, 0.5, 1.0),
    (RUN_A, "code", 0, 1, 0, 0, 1, 0.0, 0.0),
    (RUN_A, "code", 1, 1, 0, 0, 1, 0.0, 0.0),
    (RUN_A, "code", 2, 1, 0, 0, 1, 0.0, 0.0),
    (RUN_A, "all", 0, 4, 1, 1, 4, 0.25, 0.75),
    (RUN_A, "all", 1, 4, 1, 1, 4, 0.25, 0.75),
    (RUN_A, "all", 2, 4, 2, 1, 4, 0.25, 0.75),
    (RUN_B, "all", 0, 2, 2, 2, 2, 1.0, 1.0),
    (RUN_B, "all", 1, 2, 0, 0, 2, 1.0, 1.0),
]


def low_confidence_table(rows) -> pa.Table:
    return pa.Table.from_pylist([
        {"run_id": run, "analysis": analysis, "bin": bin_, "bin_order": order, "unit": unit, "kind": "low_conf",
         "correct": correct, "total": total, "accuracy": correct / total}
        for run, analysis, bin_, order, unit, correct, total in rows
    ], schema=pa.schema([("run_id", pa.string()), ("analysis", pa.string()), ("bin", pa.string()),
                         ("bin_order", pa.int64()), ("unit", pa.string()), ("kind", pa.string()),
                         ("correct", pa.int64()), ("total", pa.int64()), ("accuracy", pa.float64())]))


def candidate_table(rows) -> pa.Table:
    return pa.Table.from_pylist([
        {"run_id": run, "split": split, "candidate_idx": idx, "samples": samples, "verified": verified,
         "verified_rate": verified / samples, "first_verified": first, "first_verified_share": first / problems,
         "problems": problems, "first_candidate_rate": first_rate, "any_candidate_rate": any_rate}
        for run, split, idx, samples, verified, first, problems, first_rate, any_rate in rows
    ], schema=pa.schema([("run_id", pa.string()), ("split", pa.string()), ("candidate_idx", pa.int32()),
                         ("samples", pa.int64()), ("verified", pa.int64()), ("verified_rate", pa.float64()),
                         ("first_verified", pa.int64()), ("first_verified_share", pa.float64()),
                         ("problems", pa.int64()), ("first_candidate_rate", pa.float64()),
                         ("any_candidate_rate", pa.float64())]))


def home_with(served_home: Home, root, marts: dict[str, pa.Table]) -> Home:
    """A home holding served_home's runs_summary and the given marts."""
    home = Home(root)
    home.serving.mkdir(parents=True)
    (home.serving / "runs_summary.parquet").write_bytes((served_home.serving / "runs_summary.parquet").read_bytes())
    for name, table in marts.items():
        pq.write_table(table, home.serving / f"{name}.parquet")
    return home


@pytest.fixture(scope="module")
def decoding_home(served_home, tmp_path_factory) -> Home:
    return home_with(served_home, tmp_path_factory.mktemp("decoding") / "home", {
        "low_confidence_accuracy": low_confidence_table(LOW_CONFIDENCE),
        "candidate_position": candidate_table(CANDIDATES),
    })


@pytest.fixture
def decoding(decoding_home, open_dashboard):
    return open_dashboard(decoding_home.root).run().switch_page(PAGE).run()


def spec(chart) -> dict:
    return json.loads(chart.proto.spec)


def rows_of(chart) -> list[dict]:
    """The rows a chart draws (Streamlit ships them beside the spec as Arrow IPC)."""
    (dataset,) = chart.proto.datasets
    return pa.ipc.open_stream(dataset.data.data).read_all().to_pylist()


def test_low_confidence_chart_shows_the_newest_run_by_count(decoding):
    at = decoding
    assert not at.exception
    assert at.title[0].value == "Decoding"
    assert at.multiselect(key="lowconf_runs").value == [LABEL_B]
    assert at.button_group(key="analysis").options == ["by_count"]  # B has no other analysis
    table = at.dataframe[0].value
    assert list(table["bin"]) == ["0", "2"]
    assert list(table["accuracy"]) == [1.0, 0.0]
    assert list(table["total"]) == [1, 2]
    chart = spec(at.get("vega_lite_chart")[0])
    bars, line = chart["layer"]
    assert bars["mark"]["type"] == "bar" and bars["encoding"]["y"]["field"] == "total"
    assert line["mark"]["type"] == "line" and line["encoding"]["y"]["field"] == "accuracy"
    assert bars["encoding"]["x"]["sort"] == ["0", "2"]
    assert chart["resolve"] == {"scale": {"y": "independent"}}
    assert "responses" in at.caption[0].value and "`low_conf`" in at.caption[0].value
    labels = [b.label for b in at.download_button]
    assert labels[:3] == ["Data (CSV)", "Chart (SVG)", "Chart (PNG)"]


def test_analyses_switch_and_bins_keep_their_order(decoding):
    at = decoding
    at.multiselect(key="lowconf_runs").set_value([LABEL_A]).run()
    assert not at.exception
    assert at.button_group(key="analysis").options == ["by_count", "by_rank", "majority_by_mean_rank"]
    table = at.dataframe[0].value
    assert list(table["bin"]) == ["0", "1", "20+"]  # bin_order, not the order of the mart's rows
    assert list(table["accuracy"]) == pytest.approx([0.75, 0.5, 0.0])
    at.button_group(key="analysis").set_value("by_rank").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["bin"]) == ["1", "10+"] and list(table["total"]) == [10, 4]
    assert "steps" in at.caption[0].value
    at.button_group(key="analysis").set_value("majority_by_mean_rank").run()
    table = at.dataframe[0].value
    assert list(table["bin"]) == ["1.5"] and table["accuracy"][0] == pytest.approx(2 / 3)
    assert spec(at.get("vega_lite_chart")[0])["layer"][0]["encoding"]["y"]["title"] == "problems (bars)"


def test_a_run_without_the_chosen_analysis_falls_back_to_its_first(decoding):
    at = decoding
    at.multiselect(key="lowconf_runs").set_value([LABEL_A]).run()
    at.button_group(key="analysis").set_value("by_rank").run()
    at.multiselect(key="lowconf_runs").set_value([LABEL_B]).run()
    assert not at.exception
    assert at.button_group(key="analysis").value == "by_count"
    assert list(at.dataframe[0].value["bin"]) == ["0", "2"]


def test_two_runs_share_the_chart_in_the_chosen_order(decoding):
    at = decoding
    at.multiselect(key="lowconf_runs").set_value([LABEL_B, LABEL_A]).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(zip(table["run"], table["bin"])) == [(LABEL_B, "0"), (LABEL_B, "2"),
                                                     (LABEL_A, "0"), (LABEL_A, "1"), (LABEL_A, "20+")]
    chart = at.get("vega_lite_chart")[0]
    assert spec(chart)["layer"][0]["encoding"]["xOffset"]["field"] == "run"
    assert {row["run"] for row in rows_of(chart)} == {LABEL_A, LABEL_B}
    at.multiselect(key="lowconf_runs").set_value([]).run()
    assert not at.exception
    assert "Pick at least one run." in [i.value for i in at.info]


def test_candidate_position_defaults_to_split_all(decoding):
    at = decoding
    assert at.multiselect(key="candidate_runs").value == [LABEL_B]
    at.multiselect(key="candidate_runs").set_value([LABEL_A]).run()
    assert not at.exception
    assert at.button_group(key="splits").options == ["all", "code", "math"]
    assert at.button_group(key="splits").value == ["all"]
    charts = at.get("vega_lite_chart")
    assert len(charts) == 4
    rate, first, versus = charts[1:]
    assert [(r["candidate_idx"], r["verified_rate"]) for r in rows_of(rate)] == [(0, 0.25), (1, 0.25), (2, 0.5)]
    assert [r["first_verified_share"] for r in rows_of(first)] == [0.25, 0.25, 0.25]
    assert {r["series"] for r in rows_of(rate)} == {f"{LABEL_A} · all"}
    per_split = at.dataframe[1].value
    assert per_split.to_dict("records") == [{"run": LABEL_A, "split": "all", "problems": 4,
                                             "first_candidate_rate": 0.25, "any_candidate_rate": 0.75,
                                             "candidates": 3}]
    assert spec(versus)["layer"][0]["encoding"]["x2"]["field"] == "any_candidate_rate"


def test_candidate_splits_and_runs_combine(decoding):
    at = decoding
    at.multiselect(key="candidate_runs").set_value([LABEL_A, LABEL_B]).run()
    at.button_group(key="splits").set_value(["all", "math"]).run()
    assert not at.exception
    per_split = at.dataframe[1].value
    assert list(zip(per_split["run"], per_split["split"])) == [(LABEL_A, "all"), (LABEL_A, "math"), (LABEL_B, "all")]
    assert list(per_split["first_candidate_rate"]) == [0.25, 0.5, 1.0]
    assert list(per_split["any_candidate_rate"]) == [0.75, 1.0, 1.0]
    rate = at.get("vega_lite_chart")[1]
    assert {r["series"] for r in rows_of(rate)} == {f"{LABEL_A} · all", f"{LABEL_A} · math", f"{LABEL_B} · all"}
    at.button_group(key="splits").set_value([]).run()
    assert not at.exception
    assert "Pick at least one run and one split." in [i.value for i in at.info]


def test_controls_follow_the_url(decoding_home, open_dashboard):
    at = open_dashboard(decoding_home.root)
    at.query_params.update(lowconf_runs=[LABEL_A], analysis="by_rank", candidate_runs=[LABEL_A], splits=["code"])
    at = at.run().switch_page(PAGE).run()
    assert not at.exception
    assert at.button_group(key="analysis").value == "by_rank"
    assert list(at.dataframe[0].value["total"]) == [10, 4]
    assert list(at.dataframe[1].value["split"]) == ["code"]


def test_run_filters_narrow_the_choices(decoding):
    at = decoding
    at.multiselect(key="filter_source").set_value(["simulated"]).run()
    assert not at.exception
    assert not at.get("vega_lite_chart")
    messages = [i.value for i in at.info]
    assert messages[0].startswith("No run that matches the filters has low-confidence decode events")
    assert messages[1].startswith("No run that matches the filters has candidates")


def test_run_choices_label_shared_names_with_their_id(served_home, tmp_path):
    table = pq.read_table(served_home.serving / "runs_summary.parquet")
    renamed = table.set_column(table.schema.get_field_index("name"), "name",
                               pa.array(["same"] * 2 + table["name"].to_pylist()[2:]))
    home = home_with(served_home, tmp_path / "home", {"candidate_position": candidate_table(CANDIDATES)})
    pq.write_table(renamed, home.serving / "runs_summary.parquet")
    choices = queries.run_choices(data.snapshot(home), ("candidate_position",), {})
    assert choices == {"same [run01000]": RUN_B, "same [run00000]": RUN_A}
    with pytest.raises(ValueError, match="no run choices"):
        queries.run_choices(data.snapshot(home), ("runs_summary; drop table x",), {})


def test_every_chart_exports_to_svg(decoding_home):
    snap = data.snapshot(decoding_home)
    run = pl.lit(LABEL_A).alias("run")
    series = pl.lit(f"{LABEL_A} · all").alias("series")
    built = [
        charts_decoding.low_confidence_chart(queries.low_confidence(snap, [RUN_A], "by_rank").with_columns(run),
                                             bin_title="rank", title="t"),
        charts_decoding.verified_rate_chart(queries.candidates(snap, [RUN_A], ["all"]).with_columns(series),
                                            title="t"),
        charts_decoding.first_verified_chart(queries.candidates(snap, [RUN_A], ["all"]).with_columns(series),
                                             title="t"),
        charts_decoding.first_vs_any_chart(queries.first_vs_any(snap, [RUN_A], ["all"]).with_columns(series),
                                           title="t"),
    ]
    for chart in built:
        assert charts.to_svg(chart).lstrip().startswith("<svg")


def test_a_missing_mart_leaves_the_other_section(served_home, tmp_path, open_dashboard):
    home = home_with(served_home, tmp_path / "home", {"candidate_position": candidate_table(CANDIDATES)})
    at = open_dashboard(home.root).run().switch_page(PAGE).run()
    assert not at.exception
    assert at.info[0].value.startswith("No low_confidence_accuracy mart yet")
    assert len(at.get("vega_lite_chart")) == 3


def test_empty_marts_say_there_is_nothing(served_home, tmp_path, open_dashboard):
    home = home_with(served_home, tmp_path / "home", {"low_confidence_accuracy": low_confidence_table([]),
                                                      "candidate_position": candidate_table([])})
    at = open_dashboard(home.root).run().switch_page(PAGE).run()
    assert not at.exception
    assert not at.get("vega_lite_chart")
    messages = [i.value for i in at.info]
    assert messages[0].startswith("No run has low-confidence decode events")
    assert messages[1].startswith("No run has candidates in candidate_position")


def test_demo_warehouse_renders_every_analysis(tiny_demo_home, open_dashboard):
    at = open_dashboard(tiny_demo_home.root).run().switch_page(PAGE).run()
    assert not at.exception
    analyses = at.button_group(key="analysis").options
    assert analyses == list(queries.ANALYSES)
    for analysis in analyses:
        at.button_group(key="analysis").set_value(analysis).run()
        assert not at.exception
        table = at.dataframe[0].value
        assert not table.empty and (table["correct"] <= table["total"]).all()
    assert len(at.get("vega_lite_chart")) == 4
    # the demo's problems all sit in one split: 'all' and that split agree
    split = at.button_group(key="splits").options[1]
    at.button_group(key="splits").set_value(["all", split]).run()
    per_split = at.dataframe[1].value
    assert per_split["first_candidate_rate"].nunique() == 1 and per_split["any_candidate_rate"].nunique() == 1


@pytest.mark.browser
def test_decoding_page_renders_in_chromium(chromium, demo_server):
    with chromium_page(chromium, height=2400) as page:
        check_page(page, f"{demo_server}/decoding?analysis=by_max_rank", "Decoding", charts=4, tables=2,
                   screenshot="decoding.png")

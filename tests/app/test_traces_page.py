"""The reasoning-traces page: the embedding map (2-D, the 3-D pair, t-SNE; by correctness or
cluster; capped), the token histogram, length distributions and frequent phrases, on hand-made
marts (every number known) and on the tiny demo warehouse, the empty states, and the page in
headless Chromium."""

from __future__ import annotations

import pyarrow as pa
import pytest

from app import charts, charts_decoding, data
from app.queries import traces as queries
from browser import check_page, chromium_page
# the runs (B newer than A), the home builder, the chart readers and the demo server fixture
from test_decoding_page import LABEL_A, LABEL_B, RUN_A, RUN_B, home_with, rows_of, spec
from warehouse.home import Home

PAGE = "views/traces.py"
BIG = queries.MAX_POINTS + 1

MAP_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("embedding_model", pa.string()), ("problem_id", pa.string()),
    ("sample_idx", pa.int32()), ("cluster", pa.int32()), ("x", pa.float64()), ("y", pa.float64()),
    ("x3", pa.float64()), ("y3", pa.float64()), ("z3", pa.float64()), ("tsne_x", pa.float64()),
    ("tsne_y", pa.float64()), ("projection", pa.string()), ("is_correct", pa.bool_()), ("num_tokens", pa.int32()),
])
# run A, model enc-a: (problem, sample, cluster, correct, tokens); point i sits at (i, 2i, -i)
ENC_A = [("p0", 0, 0, True, 10), ("p0", 1, 1, False, 20), ("p1", 0, 0, True, 30), ("p1", 1, 1, False, 69),
         ("p2", 0, 2, True, None)]
STAT_SUFFIXES = ("min", "p10", "p25", "median", "mean", "p75", "p90", "max")
MEASURES = ("tokens", "chars", "reasoning_words", "reasoning_chars", "final_answer_chars")
PHRASES = [
    # run, correctness, rank, phrase, occurrences, samples, traced samples
    (RUN_A, "all", 1, "let check", 7, 3, 4),
    (RUN_A, "wrong", 1, "let check", 2, 1, 2),
    (RUN_A, "correct", 2, "so answer", 3, 1, 2),
    (RUN_A, "correct", 1, "let check", 5, 2, 2),
]


def map_rows() -> list[dict]:
    rows = [{"run_id": RUN_A, "embedding_model": "enc-a", "problem_id": p, "sample_idx": s, "cluster": c,
             "x": float(i), "y": 2.0 * i, "x3": float(i), "y3": 2.0 * i, "z3": -float(i), "tsne_x": None,
             "tsne_y": None, "projection": "pca", "is_correct": ok, "num_tokens": tokens}
            for i, (p, s, c, ok, tokens) in enumerate(ENC_A)]
    rows += [{"run_id": RUN_A, "embedding_model": "enc-b", "problem_id": "p0", "sample_idx": s, "cluster": 0,
              "x": 0.0, "y": 0.0, "x3": 0.0, "y3": 0.0, "z3": 0.0, "tsne_x": 5.0 + s, "tsne_y": -5.0,
              "projection": "pca+tsne", "is_correct": s == 0, "num_tokens": 100} for s in range(2)]
    rows += [{"run_id": RUN_A, "embedding_model": "enc-big", "problem_id": f"q{i // 10}", "sample_idx": i % 10,
              "cluster": 0, "x": 0.0, "y": 0.0, "x3": 0.0, "y3": 0.0, "z3": 0.0, "tsne_x": None, "tsne_y": None,
              "projection": "pca", "is_correct": True, "num_tokens": 1} for i in range(BIG)]
    return rows


def stats_rows() -> list[dict]:
    """Run A (traced): tokens, chars, reasoning_words; run B: tokens and chars only. A statistic's
    value is base + its position in STAT_SUFFIXES, with base 100 * (measure position + 1) plus 10
    for wrong and 20 for all, and 1000 more for run B. Rows are stored all, wrong, correct."""
    rows = []
    for run, measures, offset in ((RUN_A, MEASURES[:3], 0), (RUN_B, MEASURES[:2], 1000)):
        for group, shift in (("all", 20), ("wrong", 10), ("correct", 0)):
            row = {"run_id": run, "correctness": group, "samples": 4 if group == "all" else 2,
                   "truncated_share": 0.5, "embedded_samples": 2 if run == RUN_A else 0}
            for m, measure in enumerate(MEASURES):
                base = offset + 100 * (m + 1) + shift
                for k, suffix in enumerate(STAT_SUFFIXES):
                    row[f"{measure}_{suffix}"] = float(base + k) if measure in measures else None
            rows.append(row)
    return rows


def phrase_rows() -> list[dict]:
    return [{"run_id": run, "correctness": group, "rank": rank, "phrase": phrase, "occurrences": occurrences,
             "samples": samples, "traced_samples": traced, "share": samples / traced}
            for run, group, rank, phrase, occurrences, samples, traced in PHRASES]


def stats_table(rows) -> pa.Table:
    schema = pa.schema([("run_id", pa.string()), ("correctness", pa.string()), ("samples", pa.int64()),
                        ("truncated_share", pa.float64()), ("embedded_samples", pa.int64())]
                       + [(f"{m}_{s}", pa.float64()) for m in MEASURES for s in STAT_SUFFIXES])
    return pa.Table.from_pylist(rows, schema=schema)


def phrases_table(rows) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("run_id", pa.string()), ("correctness", pa.string()), ("rank", pa.int64()), ("phrase", pa.string()),
        ("occurrences", pa.int64()), ("samples", pa.int64()), ("traced_samples", pa.int64()),
        ("share", pa.float64())]))


@pytest.fixture(scope="module")
def traces_home(served_home, tmp_path_factory) -> Home:
    return home_with(served_home, tmp_path_factory.mktemp("traces") / "home", {
        "trace_embedding_map": pa.Table.from_pylist(map_rows(), schema=MAP_SCHEMA),
        "trace_stats": stats_table(stats_rows()),
        "trace_phrases": phrases_table(phrase_rows()),
    })


@pytest.fixture
def traces(traces_home, open_dashboard):
    return open_dashboard(traces_home.root).run().switch_page(PAGE).run()


def test_page_opens_on_the_newest_run_with_embeddings(traces):
    at = traces
    assert not at.exception
    assert at.title[0].value == "Reasoning traces"
    assert at.selectbox(key="run").options == [LABEL_B, LABEL_A]  # newest first
    assert at.selectbox(key="run").value == LABEL_A  # B has no embeddings
    assert at.selectbox(key="embedding_model").options == ["enc-a", "enc-b", "enc-big"]
    assert at.button_group(key="projection").options == ["PCA 2-D", "PCA 3-D"]  # no t-SNE for enc-a
    map_chart, histogram, box, phrases = at.get("vega_lite_chart")
    encoding = spec(map_chart)["encoding"]
    assert (encoding["x"]["field"], encoding["y"]["field"], encoding["color"]["field"]) == ("x", "y", "correctness")
    assert {t["field"] for t in encoding["tooltip"]} >= {"problem_id", "sample_idx", "num_tokens"}
    points = sorted((r["problem_id"], r["sample_idx"], r["correctness"], r["cluster"], r["x"], r["y"])
                    for r in rows_of(map_chart))
    assert points == [("p0", 0, "correct", "0", 0.0, 0.0), ("p0", 1, "wrong", "1", 1.0, 2.0),
                      ("p1", 0, "correct", "0", 2.0, 4.0), ("p1", 1, "wrong", "1", 3.0, 6.0),
                      ("p2", 0, "correct", "2", 4.0, 8.0)]
    assert at.caption[0].value.startswith("5 samples;")
    # tokens 10..69 in at most 30 bins: width ceil(60 / 30) = 2; the sample without tokens is left out
    assert [(r["bin_start"], r["bin_end"], r["correctness"], r["samples"]) for r in rows_of(histogram)] == [
        (10, 12, "correct", 1), (20, 22, "wrong", 1), (30, 32, "correct", 1), (68, 70, "wrong", 1)]
    assert [b.label for b in at.download_button] == ["Data (CSV)", "Chart (SVG)", "Chart (PNG)"] * 4


def test_the_3d_map_is_a_pair_of_panels_and_colour_follows_the_control(traces):
    at = traces
    at.button_group(key="projection").set_value("PCA 3-D").run()
    assert not at.exception
    charts = at.get("vega_lite_chart")
    assert len(charts) == 5
    panels = [(spec(c)["encoding"]["x"]["field"], spec(c)["encoding"]["y"]["field"]) for c in charts[:2]]
    assert panels == [("x3", "y3"), ("x3", "z3")]
    assert sorted(r["z3"] for r in rows_of(charts[1])) == [-4.0, -3.0, -2.0, -1.0, 0.0]
    at.button_group(key="colour").set_value("cluster").run()
    assert not at.exception
    charts = at.get("vega_lite_chart")
    assert [spec(c)["encoding"]["color"]["field"] for c in charts[:2]] == ["cluster", "cluster"]
    assert spec(charts[0])["encoding"]["color"]["sort"] == ["0", "1", "2"]


def test_tsne_appears_for_a_model_that_has_it(traces):
    at = traces
    at.selectbox(key="embedding_model").set_value("enc-b").run()
    assert at.button_group(key="projection").options == ["PCA 2-D", "PCA 3-D", "t-SNE"]
    at.button_group(key="projection").set_value("t-SNE").run()
    assert not at.exception
    chart = at.get("vega_lite_chart")[0]
    assert spec(chart)["encoding"]["x"]["field"] == "tsne_x"
    assert sorted(r["tsne_x"] for r in rows_of(chart)) == [5.0, 6.0]
    # both samples have 100 tokens: one bin of width ceil(1 / 30) = 1
    assert [(r["bin_start"], r["bin_end"], r["samples"]) for r in rows_of(at.get("vega_lite_chart")[1])] == [
        (100, 101, 1), (100, 101, 1)]


def test_large_maps_show_a_fixed_sample(traces_home, traces):
    at = traces
    at.selectbox(key="embedding_model").set_value("enc-big").run()
    assert not at.exception
    assert at.caption[0].value.startswith(f"{queries.MAX_POINTS:,} of {BIG:,} samples")
    assert len(rows_of(at.get("vega_lite_chart")[0])) == queries.MAX_POINTS
    snap = data.snapshot(traces_home)
    first, total = queries.embedding_points(snap, RUN_A, "enc-big")
    queries.embedding_points.clear()
    again, _ = queries.embedding_points(snap, RUN_A, "enc-big")
    assert total == BIG and first.equals(again)


def test_lengths_by_correctness_follow_the_measure(traces):
    at = traces
    assert at.button_group(key="measure").options == ["tokens", "chars", "reasoning_words"]
    table = at.dataframe[0].value
    assert list(table["correctness"]) == ["correct", "wrong", "all"]
    assert list(table["median"]) == [103.0, 113.0, 123.0]  # tokens: base 100, + 10 wrong, + 20 all; median +3
    assert list(table["mean"]) == [104.0, 114.0, 124.0]
    box = spec(at.get("vega_lite_chart")[2])
    assert [layer["mark"]["type"] for layer in box["layer"]] == ["rule", "rule", "bar", "tick", "point"]
    at.button_group(key="measure").set_value("reasoning_words").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["min"]) == [300.0, 310.0, 320.0] and list(table["max"]) == [307.0, 317.0, 327.0]
    assert spec(at.get("vega_lite_chart")[2])["layer"][0]["encoding"]["x"]["title"] == "words (reasoning trace)"


def test_phrases_by_correctness(traces):
    at = traces
    table = at.dataframe[1].value
    assert list(zip(table["correctness"], table["rank"], table["phrase"])) == [
        ("correct", 1, "let check"), ("correct", 2, "so answer"), ("wrong", 1, "let check"), ("all", 1, "let check")]
    chart = spec(at.get("vega_lite_chart")[3])
    assert chart["encoding"]["y"]["sort"] == ["00001 let check", "00002 so answer", "10001 let check",
                                              "20001 let check"]
    assert chart["encoding"]["y"]["axis"]["labelExpr"] == "substring(datum.label, 6)"
    assert chart["encoding"]["x"]["field"] == "occurrences"
    at.button_group(key="phrase_value").set_value("share").run()
    assert not at.exception
    assert spec(at.get("vega_lite_chart")[3])["encoding"]["x"]["field"] == "share"


def test_a_run_without_traces_keeps_its_lengths(traces):
    at = traces
    at.selectbox(key="run").set_value(LABEL_B).run()
    assert not at.exception
    messages = [i.value for i in at.info]
    assert messages[0].startswith("This run has no reasoning-trace embeddings")
    assert messages[1].startswith("This run has no reasoning-trace phrases")
    assert at.button_group(key="measure").options == ["tokens", "chars"]
    assert list(at.dataframe[0].value["median"]) == [1103.0, 1113.0, 1123.0]


def test_controls_follow_the_url(traces_home, open_dashboard):
    at = open_dashboard(traces_home.root)
    at.query_params.update(run=LABEL_B, measure="chars")
    at = at.run().switch_page(PAGE).run()
    assert not at.exception
    assert at.selectbox(key="run").value == LABEL_B
    assert list(at.dataframe[0].value["median"]) == [1203.0, 1213.0, 1223.0]


def test_every_chart_exports_to_svg(traces_home):
    snap = data.snapshot(traces_home)
    points, _ = queries.embedding_points(snap, RUN_A, "enc-a")
    built = [
        charts_decoding.embedding_map_chart(points, colour_by="cluster", x="x3", y="z3", title="t"),
        charts_decoding.token_histogram_chart(queries.token_histogram(snap, RUN_A, "enc-a"), title="t"),
        charts_decoding.length_box_chart(queries.length_stats(snap, RUN_A, "tokens"), measure_title="m", title="t"),
        charts_decoding.phrases_chart(queries.phrases(snap, RUN_A), value="share", title="t"),
    ]
    for chart in built:
        assert charts.to_svg(chart).lstrip().startswith("<svg")


def test_unknown_measures_are_refused(traces_home):
    with pytest.raises(ValueError, match="unknown length measure"):
        queries.length_stats(data.snapshot(traces_home), RUN_A, "tokens_min from trace_stats; --")


def test_missing_marts_leave_the_other_sections(served_home, tmp_path, open_dashboard):
    home = home_with(served_home, tmp_path / "stats-only", {"trace_stats": stats_table(stats_rows())})
    at = open_dashboard(home.root).run().switch_page(PAGE).run()
    assert not at.exception
    assert at.selectbox(key="run").value == LABEL_B  # nothing mapped: the newest run
    messages = [i.value for i in at.info]
    assert messages[0].startswith("No trace_embedding_map mart yet") and messages[1].startswith("No trace_phrases")
    assert len(at.get("vega_lite_chart")) == 1

    bare = home_with(served_home, tmp_path / "none", {})
    at = open_dashboard(bare.root).run().switch_page(PAGE).run()
    assert not at.exception
    assert at.info[0].value.startswith("No trace_embedding_map, trace_stats, trace_phrases mart")


def test_empty_marts_say_there_is_nothing(served_home, tmp_path, open_dashboard):
    home = home_with(served_home, tmp_path / "home", {"trace_embedding_map": MAP_SCHEMA.empty_table(),
                                                      "trace_stats": stats_table([]),
                                                      "trace_phrases": phrases_table([])})
    at = open_dashboard(home.root).run().switch_page(PAGE).run()
    assert not at.exception
    assert not at.get("vega_lite_chart")
    assert at.info[0].value.startswith("The trace marts hold no runs yet")


def test_run_filters_narrow_the_choices(traces):
    at = traces
    at.multiselect(key="filter_model").set_value(["Qwen2.5-1.5B"]).run()
    assert at.selectbox(key="run").options == [LABEL_B, LABEL_A]
    at.multiselect(key="filter_model").set_value(["Llama-3.2-1B"]).run()
    assert not at.exception
    assert not at.get("vega_lite_chart")
    assert at.info[0].value == "No run with trace data matches the filters."


def test_demo_warehouse_renders_every_view(tiny_demo_home, open_dashboard):
    at = open_dashboard(tiny_demo_home.root).run().switch_page(PAGE).run()
    assert not at.exception
    assert len(at.get("vega_lite_chart")) == 4
    for projection in at.button_group(key="projection").options:
        for colour in ("correctness", "cluster"):
            at.button_group(key="projection").set_value(projection)
            at.button_group(key="colour").set_value(colour).run()
            assert not at.exception
    assert len(at.get("vega_lite_chart")) == 5  # the last projection is the 3-D pair
    for measure in at.button_group(key="measure").options:
        at.button_group(key="measure").set_value(measure).run()
        assert not at.exception
        table = at.dataframe[0].value
        assert (table["min"] <= table["median"]).all() and (table["median"] <= table["max"]).all()
    at.button_group(key="phrase_value").set_value("share").run()
    assert not at.exception
    assert not at.dataframe[1].value.empty


@pytest.mark.browser
def test_traces_page_renders_in_chromium(chromium, demo_server):
    with chromium_page(chromium, height=2400) as page:
        check_page(page, f"{demo_server}/traces?projection=PCA+3-D&colour=cluster", "Reasoning traces", charts=5,
                   tables=2, screenshot="traces.png")

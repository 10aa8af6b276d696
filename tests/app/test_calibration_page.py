"""The calibration page over hand-made calibration marts: the grid heatmap, the power-law fit and
its line, the fit table, the suggested dynamic top-k lists and the `decoding:` snippet; the
empty states; and, in headless Chromium, the difficulty, PRM and calibration pages on a real
(tiny demo) warehouse.

The hand-made pooled grid of model g lies on c = 0.5 p̄ (A = ln 0.5, B = 1): bin 9 has shares
0.4, 0.2, 0.05, 0 at ranks 1-4 (p̄ 0.8, 0.4, 0.1, 0.02) over 200 positions, bin 6 has 0.3 at
rank 1 (p̄ 0.6) over 20. So the fitted cells span p̄ 0.1 .. 0.8, the line runs from
(0.1, 0.05) to (0.8, 0.4), and the lists (first entry = bin 9) start with the largest rank whose
share is above 0.10 (2), 0.05 (2: 0.05 is not above 0.05) and 0.01 (3).
"""

from __future__ import annotations

import math
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from app.queries import calibration
from browser import check_page, chromium_page, served_dashboard
from test_difficulty_page import chart_data, write_runs_summary
from generation.decoding.rules import DecodingRules
from warehouse.home import Home

LN_HALF = math.log(0.5)
POOLED_G = "g · all runs pooled (2 runs)"
LISTS_G = {"dynamic_top_k_10pct": [2] + [1] * 9, "dynamic_top_k_5pct": [2] + [1] * 9,
           "dynamic_top_k_1pct": [3] + [1] * 9}
ONES = {column: [1] * 10 for column in LISTS_G}
BIN9 = [(1, 0.4, 0.8), (2, 0.2, 0.4), (3, 0.05, 0.1), (4, 0.0, 0.02)]  # rank, share, p̄


def grid_rows(model: str, run_id: str | None, support: int, with_bin6: bool) -> list[dict]:
    rows = [{"model": model, "run_id": run_id, "bin": 9, "bin_low": 0.9, "bin_high": 1.0, "rank": rank,
             "positions": round(share * support), "support": support, "share": share, "mean_prob": p}
            for rank, share, p in BIN9]
    if with_bin6:
        rows.append({"model": model, "run_id": run_id, "bin": 6, "bin_low": 0.6, "bin_high": 0.7, "rank": 1,
                     "positions": 6, "support": 20, "share": 0.3, "mean_prob": 0.6})
    return rows


def fit_row(model, run_id, runs, positions, top_k, fitted, cells, lists) -> dict:
    a, b, r2 = (LN_HALF, 1.0, 1.0) if fitted else (None, None, None)
    return {"model": model, "run_id": run_id, "runs": runs, "positions": positions, "top_k": top_k, "a": a, "b": b,
            "r_squared": r2, "cells": cells, **lists}


def write_calibration_marts(serving) -> None:
    grid = [*grid_rows("g", None, 200, True), *grid_rows("g", "t1", 100, True), *grid_rows("g", "t2", 100, False),
            {"model": "h", "run_id": "t3", "bin": 9, "bin_low": 0.9, "bin_high": 1.0, "rank": 1, "positions": 5,
             "support": 5, "share": 1.0, "mean_prob": 0.95}]
    grid.append({**grid[-1], "run_id": None})
    fits = [fit_row("g", None, 2, 220, 4, True, 4, LISTS_G), fit_row("g", "t1", 1, 120, 4, True, 4, LISTS_G),
            fit_row("g", "t2", 1, 100, 4, True, 3, LISTS_G), fit_row("h", "t3", 1, 5, 1, False, 1, ONES),
            fit_row("h", None, 1, 5, 1, False, 1, ONES)]
    pq.write_table(pa.Table.from_pylist(grid, schema=pa.schema([
        ("model", pa.string()), ("run_id", pa.string()), ("bin", pa.int32()), ("bin_low", pa.float64()),
        ("bin_high", pa.float64()), ("rank", pa.int32()), ("positions", pa.int64()), ("support", pa.int64()),
        ("share", pa.float64()), ("mean_prob", pa.float64())])), serving / "calibration_grid.parquet")
    pq.write_table(pa.Table.from_pylist(fits, schema=pa.schema([
        ("model", pa.string()), ("run_id", pa.string()), ("runs", pa.int64()), ("positions", pa.int64()),
        ("top_k", pa.int32()), ("a", pa.float64()), ("b", pa.float64()), ("r_squared", pa.float64()),
        ("cells", pa.int64()), *[(c, pa.list_(pa.int32())) for c in LISTS_G]])),
        serving / "calibration_fit.parquet")


def write_runs(serving) -> None:
    write_runs_summary(serving, [("t1", "tf-g-a", "g", "teacher_forced"), ("t2", "tf-g-b", "g", "teacher_forced"),
                                 ("t3", "tf-h", "h", "teacher_forced")])


@pytest.fixture(scope="module")
def calibration_home(tmp_path_factory) -> Home:
    home = Home(tmp_path_factory.mktemp("calibration") / "home")
    home.serving.mkdir(parents=True)
    write_calibration_marts(home.serving)
    write_runs(home.serving)
    return home


@pytest.fixture
def page(calibration_home, open_dashboard):
    return open_dashboard(calibration_home.root).run().switch_page("views/calibration.py").run()


def test_pooled_grid_heatmap_and_fit_line(page):
    at = page
    assert not at.exception
    assert at.title[0].value == "Calibration"
    assert at.selectbox(key="scope").options == [POOLED_G, "g · tf-g-a", "g · tf-g-b", "h · all runs pooled (1 run)",
                                                 "h · tf-h"]
    assert [m.value for m in at.metric] == ["2", "220", "4", "-0.6931", "1.0000", "1.0000", "4"]
    heatmap, fit = at.get("vega_lite_chart")
    cells = chart_data(heatmap)[0]
    assert [(c["bin_label"], c["rank"], c["share"]) for c in cells] == [
        ("[0.9, 1]", 1, 0.4), ("[0.9, 1]", 2, 0.2), ("[0.9, 1]", 3, 0.05), ("[0.9, 1]", 4, 0.0),
        ("[0.6, 0.7)", 1, 0.3)]
    points, line = chart_data(fit)
    assert sorted(p["mean_prob"] for p in points) == [0.1, 0.4, 0.6, 0.8]  # the c = 0 cell is left out
    assert [(p["mean_prob"], p["share"]) for p in line] == [(0.1, pytest.approx(0.05)), (0.8, pytest.approx(0.4))]


def test_suggested_lists_and_yaml_snippet(page):
    at = page
    lists = at.dataframe[-1].value
    assert list(lists.columns) == ["p_max bin", "k at c > 0.1", "k at c > 0.05", "k at c > 0.01"]
    assert lists["p_max bin"].tolist() == ["[0.9, 1]", "[0.8, 0.9)", "[0.7, 0.8)", "[0.6, 0.7)", "[0.5, 0.6)",
                                           "[0.4, 0.5)", "[0.3, 0.4)", "[0.2, 0.3)", "[0.1, 0.2)", "[0, 0.1)"]
    assert lists.iloc[0].tolist() == ["[0.9, 1]", 2, 2, 3]
    assert at.code[0].value == (
        "# dynamic top-k suggested by calibration_fit for g · all runs pooled (2 runs), c > 0.1:\n"
        "# one k per p_max bin, the first for [0.9, 1], the last for [0, 0.1)\n"
        "decoding:\n  dynamic_topk: [2, 1, 1, 1, 1, 1, 1, 1, 1, 1]")
    at.button_group(key="threshold").set_value("dynamic_top_k_1pct").run()
    snippet = yaml.safe_load(at.code[0].value)
    assert DecodingRules.from_dict(snippet["decoding"]).dynamic_topk == (3, 1, 1, 1, 1, 1, 1, 1, 1, 1)


def test_a_run_scope_reads_only_that_runs_cells(page):
    at = page
    at.selectbox(key="scope").set_value("g · tf-g-b").run()
    assert not at.exception
    cells = chart_data(at.get("vega_lite_chart")[0])[0]
    assert [(c["bin_label"], c["rank"], c["support"]) for c in cells] == [("[0.9, 1]", r, 100) for r in range(1, 5)]
    assert at.metric[1].value == "100"


def test_a_scope_without_a_fit_says_so(page):
    at = page
    at.selectbox(key="scope").set_value("h · tf-h").run()
    assert not at.exception
    assert [m.value for m in at.metric][3:6] == ["–", "–", "–"]
    assert len(at.get("vega_lite_chart")) == 1  # the grid only
    assert at.info[0].value.startswith("No fit for this grid")
    assert "dynamic_topk: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]" in at.code[0].value


def test_controls_follow_the_url(calibration_home, open_dashboard):
    at = open_dashboard(calibration_home.root)
    at.query_params.update(scope="g · tf-g-a", threshold="c > 0.05")
    at = at.run().switch_page("views/calibration.py").run()
    assert not at.exception
    assert at.selectbox(key="scope").value == "g · tf-g-a"
    assert "for g · tf-g-a, c > 0.05:" in at.code[0].value


def test_threshold_names_and_list_bins():
    assert calibration.threshold("dynamic_top_k_10pct") == 0.10
    assert calibration.threshold("dynamic_top_k_2p5pct") == 0.025
    with pytest.raises(ValueError, match="not a dynamic top-k list column"):
        calibration.threshold("a")
    assert calibration.list_bins(4) == ["[0.75, 1]", "[0.5, 0.75)", "[0.25, 0.5)", "[0, 0.25)"]


def test_empty_and_missing_marts(calibration_home, tmp_path, open_dashboard):
    root = tmp_path / "empty"
    (root / "serving").mkdir(parents=True)
    for name in ("calibration_grid", "calibration_fit", "runs_summary"):
        table = pq.read_table(calibration_home.serving / f"{name}.parquet")
        pq.write_table(table.schema.empty_table(), root / "serving" / f"{name}.parquet")
    at = open_dashboard(root).run().switch_page("views/calibration.py").run()
    assert not at.exception
    assert at.info[0].value.startswith("calibration_fit holds no rows yet")
    (root / "serving" / "calibration_fit.parquet").unlink()
    at = open_dashboard(root).run().switch_page("views/calibration.py").run()
    assert not at.exception
    assert "No calibration_fit mart" in at.info[0].value


@pytest.fixture
def analysis_server(tiny_demo_home, tmp_path):
    """`ttsw app` over a copy of the tiny demo whose calibration marts are the hand-made ones."""
    home = Home(tmp_path / "home")
    for folder in ("lake", "serving"):
        shutil.copytree(tiny_demo_home.root / folder, home.root / folder)
    write_calibration_marts(home.serving)
    with served_dashboard(home.root, tmp_path) as url:
        yield url


@pytest.mark.browser
def test_analysis_pages_render_in_chromium(chromium, analysis_server):
    with chromium_page(chromium, height=1400) as browser_page:
        for path, heading, charts in [("difficulty", "Difficulty", 3), ("prm", "PRM reliability", 3),
                                      ("calibration", "Calibration", 2)]:
            check_page(browser_page, f"{analysis_server}/{path}", heading, charts=charts, screenshot=f"{path}.png")
        assert browser_page.get_by_text("dynamic_topk: [2, 1, 1, 1, 1, 1, 1, 1, 1, 1]").count() == 1

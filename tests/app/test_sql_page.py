"""The SQL console page: a query from the URL runs and shows its rows (marts by name or as
`marts.<mart>`, nested values included), the row limit cuts and says so, examples load with a
click, refused, failing and too-long queries show a clear message, the views list their columns;
and in Chromium the page renders a result without an exception."""

from __future__ import annotations

import time

import pytest

from browser import ARTIFACTS, chromium_page, served_dashboard

PAGE = "views/sql.py"


def open_sql(open_dashboard, root, **params):
    at = open_dashboard(root)
    at.query_params.update(params)
    return at.run().switch_page(PAGE).run()


def test_a_query_from_the_url_runs(served_home, open_dashboard):
    at = open_sql(open_dashboard, served_home.root,
                  sql="select model, count(*) as runs from runs_summary group by model order by model")
    assert not at.exception and not at.error
    assert at.text_area(key="sql").value.startswith("select model")
    frame = at.dataframe[0].value
    assert frame.to_dict("records") == [{"model": "Llama-3.2-1B", "runs": 2}, {"model": "Qwen2.5-1.5B", "runs": 3}]
    assert "2 rows" in [c.value for c in at.main.caption]
    assert [b.label for b in at.get("download_button")] == ["Data (CSV)"]


def test_marts_by_schema_and_nested_values(served_home, open_dashboard):
    at = open_sql(open_dashboard, served_home.root,
                  sql="select count(*) as runs, [1, 2] as l, {'a': 'x'} as s from marts.runs_summary")
    assert not at.exception and not at.error
    record = at.dataframe[0].value.to_dict("records")[0]
    assert record["runs"] == 5 and list(record["l"]) == [1, 2]
    assert [b.label for b in at.get("download_button")] == ["Data (CSV)"]  # nested columns as JSON text


def test_a_shared_link_to_a_huge_query_stops_at_the_timeout(served_home, open_dashboard, monkeypatch):
    monkeypatch.setenv("TTSW_SQL_TIMEOUT", "1")
    start = time.monotonic()
    at = open_sql(open_dashboard, served_home.root,
                  sql="select count(*) from range(1000000000) a, range(1000000000) b")
    assert time.monotonic() - start < 20
    assert not at.exception and not at.dataframe
    assert at.error[0].value == "Stopped: query stopped after 1 s; add a limit/filter or raise $TTSW_SQL_TIMEOUT"


def test_row_limit_cuts_with_a_note(served_home, open_dashboard):
    # selection_accuracy of tests/app/conftest.py: 5 n x (run 0: 10 variants x 2 estimators,
    # runs 1-3: 6 x 2 each, the HNC run: 6 x 3) = 5 x 74 = 370 rows
    at = open_sql(open_dashboard, served_home.root, sql="select * from selection_accuracy")
    assert len(at.dataframe[0].value) == 370
    assert not any("Showing the first" in w.value for w in at.warning)
    at.selectbox(key="limit").set_value(100).run()
    assert len(at.dataframe[0].value) == 100
    assert any(w.value.startswith("Showing the first 100 rows only") for w in at.warning)


def test_examples_load_and_run(served_home, open_dashboard):
    at = open_sql(open_dashboard, served_home.root)
    assert "Write a query" in at.info[0].value
    at.button(key="example_Runs and their settings").click().run()
    assert not at.exception and not at.error
    assert at.text_area(key="sql").value.startswith("select name, status")
    assert len(at.dataframe[0].value) == 5


@pytest.mark.parametrize("sql, message", [
    ("select * from read_csv('/etc/passwd')", "Refused: outside the warehouse"),
    ("COPY (select 1) TO '/tmp/x.csv'", "Refused: COPY statements are refused"),
    ("ATTACH '/tmp/x.db'", "Refused: ATTACH statements are refused"),
    ("INSTALL httpfs", "Refused: INSTALL statements are refused"),
    ("select 1; select 2", "Refused: one statement at a time"),
    ("select nope from runs_summary", "Query failed: Binder Error"),
])
def test_refused_and_failing_queries_say_why(served_home, open_dashboard, sql, message):
    at = open_sql(open_dashboard, served_home.root, sql=sql)
    assert not at.exception and not at.dataframe
    assert at.error[0].value.startswith(message)


def test_views_list_their_columns(served_home, open_dashboard):
    at = open_sql(open_dashboard, served_home.root)
    assert [e.label for e in at.sidebar.expander] == ["runs_summary", "selection_accuracy"]
    assert "run_id VARCHAR\nname VARCHAR" in at.sidebar.code[0].value


def test_without_marts(empty_home, open_dashboard):
    at = open_sql(open_dashboard, empty_home.root)
    assert not at.exception
    assert "No marts" in at.info[0].value


@pytest.fixture
def served_server(served_home, tmp_path):
    with served_dashboard(served_home.root, tmp_path) as url:
        yield url


@pytest.mark.browser
def test_console_in_a_browser(chromium, served_server):
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_page(chromium) as page:
        page.goto(f"{served_server}/sql?sql=select%20name%2C%20model%20from%20runs_summary%20order%20by%20name",
                  wait_until="domcontentloaded")
        page.get_by_role("heading", name="SQL console").wait_for(timeout=30_000)
        page.wait_for_selector('[data-testid="stDataFrame"]', state="visible", timeout=30_000)
        page.get_by_text("5 rows").wait_for(timeout=30_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "sql.png"), full_page=True)

"""Page elements every dashboard page shares: the home, the simulated-data banner, the
empty state, the run filters in the sidebar, URL-backed choices and the download buttons under
a chart.

Why `url_selectbox` exists: Streamlit's `bind="query-params"` stores a selectbox's *formatted*
option (the `format_func` label) in the URL and drops any other value, so a link carrying an id
(`explorer?run=<run_id>&problem=<problem_id>`) lands on the page's defaults. `url_selectbox`
(and the run filters) keep the raw option (`str(option)`) in the URL instead and seed the widget
from it whenever the URL brings a value the page did not write itself: a fresh load, a page
link, history navigation or an edited address."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

import altair as alt
import polars as pl

from app import charts, data
from warehouse import tabular
from warehouse.home import resolve_home

BANNER_NAMES = 5
URL_WRITTEN = "_ui_url_written"  # session-state dict: URL key -> the value this session last put there


def current_snapshot() -> data.Snapshot:
    """The serving snapshot of the home in $TTSW_HOME (else ./ttsw_home)."""
    return data.snapshot(resolve_home())


def require_marts(snap: data.Snapshot, *names: str) -> None:
    """Stop the page with a clear message when serving/ has no marts, or not those named."""
    present = data.marts(snap)
    missing = [name for name in names if name not in present]
    if missing or not present:
        what = f"No {', '.join(missing)} mart" if missing else "No marts"
        st.info(f"{what} in `{snap[0]}/serving` yet: run `ttsw build` first "
                "(or `ttsw demo` for simulated runs), then reload this page.", icon=":material/info:")
        st.stop()


def has_mart(snap: data.Snapshot, name: str) -> bool:
    """For a section of a page: whether serving/ has the mart; if not, says so (the page goes on)."""
    if name in data.marts(snap):
        return True
    st.info(f"No {name} mart yet: run `ttsw build`.", icon=":material/info:")
    return False


def simulated_banner(snap: data.Snapshot) -> None:
    runs = data.simulated_runs(snap)
    names = runs["names"]
    if names:
        shown = ", ".join(names[:BANNER_NAMES]) + (", …" if len(names) > BANNER_NAMES else "")
        st.warning(f"Simulated data: {len(names)} of {runs['total']} runs are simulated ({shown}); "
                   "their numbers are synthetic, not results of a model.", icon=":material/science:")


def run_filters(snap: data.Snapshot) -> dict[str, list[str]]:
    """Multiselects in the sidebar, one per run column, kept in the URL under the column's name
    (`?model=a&model=b`) and across pages; an empty choice keeps every run."""
    chosen = {}
    with st.sidebar:
        st.subheader("Filter runs")
        for column, values in data.filter_options(snap).items():
            key = f"filter_{column}"
            seed_from_url(key, values, [], multi=True, param=column)
            chosen[column] = st.multiselect(column.capitalize(), values, key=key, placeholder="all",
                                            persist_state="session")
            write_to_url(column, chosen[column], multi=True)
    return chosen


def seed_from_url(key: str, options: Sequence[Any], default: Any, *, multi: bool = False,
                  param: str | None = None) -> None:
    """Before the widget `key` is created, set its session state: to the option(s) in the URL's
    `?param=` (default: the key) when the URL brings a value this session did not write there or
    the widget is new on this page; else drop choices that are no longer options, falling back
    to `default`. URL values match options by `str(option)`; unknown ones are ignored."""
    param = param or key
    by_text = {str(option): option for option in options}
    from_url = [text for text in st.query_params.get_all(param) if text in by_text]
    written = st.session_state.setdefault(URL_WRITTEN, {})
    fresh = key not in st.session_state
    if from_url and (fresh or from_url != written.get(param)):
        value = [by_text[t] for t in dict.fromkeys(from_url)] if multi else by_text[from_url[-1]]
    elif fresh:
        value = list(default) if multi else default
    elif multi:
        value = [v for v in st.session_state[key] if str(v) in by_text]
    else:
        value = st.session_state[key] if str(st.session_state[key]) in by_text else default
    # assigned even when unchanged: after a page switch the widget remounts under a new element
    # id, whose default would otherwise shadow the value kept under the key (persist_state)
    st.session_state[key] = value


def write_to_url(param: str, value: Any, *, multi: bool = False) -> None:
    """Show `value` in the URL as `?param=str(value)` (repeated for a list; none for an empty
    list), remembered as written by this session so that `seed_from_url` does not read it back."""
    texts = [str(v) for v in value] if multi else [str(value)]
    if st.query_params.get_all(param) != texts:
        if texts:
            st.query_params[param] = texts
        else:
            del st.query_params[param]
    st.session_state.setdefault(URL_WRITTEN, {})[param] = texts


def url_selectbox(label: str, options: Sequence[Any], *, key: str, default: Any = None,
                  format_func: Callable[[Any], str] = str, **kwargs: Any) -> Any:
    """A selectbox whose choice lives in the URL under `key` as the raw option, not its label
    (see the module docstring); `default` (else the first option) when the URL names none.
    Needs at least one option."""
    options = list(options)
    seed_from_url(key, options, default if default in options else options[0])
    value = st.selectbox(label, options, key=key, format_func=format_func, **kwargs)
    write_to_url(key, value)
    return value


def downloads(name: str, frame: pl.DataFrame, chart: alt.TopLevelMixin | None = None) -> None:
    """Buttons under a chart: its data as CSV and, given the chart, the chart as SVG and PNG.

    The SVG and PNG are rendered only when clicked (vl-convert, no browser needed). The CSV
    holds list and struct values as JSON text (polars' CSV writer refuses nested columns).
    """
    with st.container(horizontal=True):
        st.download_button("Data (CSV)", tabular.csv_bytes(frame.to_arrow()), file_name=f"{name}.csv",
                           mime="text/csv", icon=":material/download:", on_click="ignore", key=f"csv_{name}")
        if chart is not None:
            st.download_button("Chart (SVG)", lambda: charts.to_svg(chart), file_name=f"{name}.svg",
                               mime="image/svg+xml", icon=":material/download:", on_click="ignore",
                               key=f"svg_{name}")
            st.download_button("Chart (PNG)", lambda: charts.to_png(chart), file_name=f"{name}.png",
                               mime="image/png", icon=":material/download:", on_click="ignore",
                               key=f"png_{name}")

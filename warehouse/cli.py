"""Warehouse commands: `ttsw build`, `ttsw sql`, `ttsw runs list|show|drop`, `ttsw check`.

Heavy imports (duckdb, pyarrow) happen inside the commands, so listing them stays instant.
"""

from __future__ import annotations

import json
import sys

import click

from warehouse.home import Home

pass_home = click.make_pass_decorator(Home)


@click.command()
@click.option("--select", "-s", help="dbt node selection (e.g. 'selection_accuracy+'); default: everything.")
@click.option("--vars", "variables", metavar="YAML",
              help="Override project vars, as dbt's --vars: e.g. '{mc_draws: 1000, difficulty_easy: 0.8}'.")
@click.option("--quiet", "-q", is_flag=True, help="Do not echo dbt's log.")
@pass_home
def build(home: Home, select: str | None, variables: str | None, quiet: bool) -> None:
    """Run `dbt build` in its own process, then export the marts to serving/."""
    import yaml

    from warehouse.dbt_runner import build as run_build

    parsed = yaml.safe_load(variables) if variables else None
    if parsed is not None and not isinstance(parsed, dict):
        raise click.BadParameter("expected a mapping such as '{mc_draws: 1000}'", param_hint="--vars")
    counts = run_build(home, select=select, variables=parsed, echo=not quiet)
    click.echo(f"built {len(counts)} marts into {home.serving}: " +
               ", ".join(f"{name} ({rows:,} rows)" for name, rows in counts.items()))


@click.command()
@click.argument("query")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--max-rows", type=int, default=40, show_default=True, help="Rows shown by --format table.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="S",
              help="Stop the query after S seconds (default: $TTSW_SQL_TIMEOUT, else 30).")
@click.option("--unsafe", is_flag=True,
              help="Full DuckDB access (files, COPY, ATTACH, extensions, settings, several statements; "
                   "schemas staging and intermediate) on warehouse.duckdb opened read-only, for the owner.")
@pass_home
def sql(home: Home, query: str, fmt: str, max_rows: int, timeout: float | None, unsafe: bool) -> None:
    """Run one read-only SQL QUERY over the marts and the lake.

    \b
    Views: lake.<table> (raw tables) and the marts of the last build, as <mart> or marts.<mart>.
    One statement; files outside the home's lake/ and serving/ cannot be read, nothing is written.
    --unsafe opens warehouse.duckdb (also schemas staging, intermediate) with DuckDB's full powers.
    Limits: $TTSW_SQL_TIMEOUT (s), $TTSW_SQL_MEMORY_LIMIT (e.g. 4GiB), $TTSW_SQL_THREADS.
    Example: ttsw sql "select approach, count(*) from lake.runs group by 1"
    """
    from warehouse.sandbox import Limits, open_sandbox, unsafe_sandbox

    home.require_lake()
    limits = Limits.from_env(timeout, hint="--timeout")
    if unsafe:
        click.echo("warning: --unsafe: full DuckDB access (any file, COPY, ATTACH, extensions, settings); "
                   "warehouse.duckdb itself is open read-only", err=True)
    with (unsafe_sandbox if unsafe else open_sandbox)(home, limits) as sandbox:
        result = sandbox.query(query, limit=None)
    if result is not None:
        _print_table(result.table, fmt, max_rows)


def _print_table(table, fmt: str, max_rows: int) -> None:
    from warehouse import tabular

    if fmt == "csv":
        tabular.write_csv(table, sys.stdout.buffer)
    elif fmt == "json":
        click.echo(tabular.json_text(table))
    else:
        import shutil

        import duckdb

        width = shutil.get_terminal_size((160, 40)).columns
        # DuckDB's own renderer, as in its shell: wide results elide middle columns, long ones middle rows.
        duckdb.from_arrow(table).show(max_width=width, max_rows=max_rows, max_col_width=40)


@click.group()
def runs() -> None:
    """List, inspect and drop runs."""


@runs.command("list")
@click.option("--status", type=click.Choice(["running", "complete", "failed"]), help="Only runs with this status.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@pass_home
def runs_list(home: Home, status: str | None, fmt: str) -> None:
    """One line per run: id, name, source, status, model, approach, N and sample count."""
    from warehouse.catalog import memory_connection

    home.require_lake()
    con = memory_connection(home)
    try:
        table = con.sql(
            """
            select r.run_id, r.name, r.source, r.status, r.model, r.approach, r.strategy, r.temperature,
                   r.n, r.seed, coalesce(c.samples, 0) as samples, r.updated_at
            from lake.runs r
            left join (select run_id, count(*) as samples from lake.completions group by 1) c using (run_id)
            where $status is null or r.status = $status
            order by r.created_at, r.run_id
            """, params={"status": status}).to_arrow_table()
    finally:
        con.close()
    _print_table(table, fmt, max_rows=1000)


@runs.command("show")
@click.argument("run")
@pass_home
def runs_show(home: Home, run: str) -> None:
    """Every field of RUN (an id, an id prefix or a name), with row counts per table."""
    from warehouse.catalog import memory_connection
    from warehouse.runs import get_run, resolve_run
    from warehouse.tables import TABLES

    home.require_lake()
    run_id = resolve_run(home, run)
    record = get_run(home, run_id)
    con = memory_connection(home)
    try:
        views = {r[0] for r in con.execute("select view_name from duckdb_views() where schema_name = 'lake'").fetchall()}
        counts = {name: con.execute(f"select count(*) from lake.{name} where run_id = ?", [run_id]).fetchone()[0]
                  for name, table in TABLES.items() if table.per_run and name != "runs" and name in views}
    finally:
        con.close()
    for key, value in record.items():
        if key in ("config", "decoder_params", "versions") and value:
            value = json.dumps(json.loads(value), indent=2)
        click.echo(f"{key:>20}: {value}")
    click.echo("rows:")
    for name, rows in counts.items():
        click.echo(f"{name:>20}: {rows:,}")


@runs.command("drop")
@click.argument("run_refs", nargs=-1, required=True, metavar="RUN...")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_home
def runs_drop(home: Home, run_refs: tuple[str, ...], yes: bool) -> None:
    """Delete every part of each RUN from the lake (the marts drop it at the next build)."""
    from warehouse.runs import drop_run, resolve_run

    home.require_lake()
    ids = [resolve_run(home, ref) for ref in run_refs]
    if not yes:
        click.confirm(f"drop {len(ids)} run(s) {', '.join(ids)}?", abort=True)
    for run_id in ids:
        removed = drop_run(home, run_id)
        click.echo(f"dropped {run_id} ({removed} part files)")


@click.command()
@pass_home
def check(home: Home) -> None:
    """Read the footer of every lake part file and list those that are damaged."""
    from warehouse.lake import check_parts

    home.require_lake()
    bad = check_parts(home)
    for path, problem in bad:
        click.echo(f"corrupt: {path}: {problem}")
    if bad:
        raise click.ClickException(f"{len(bad)} damaged part file(s); remove them or drop their runs, then rewrite")
    click.echo("all part files readable")

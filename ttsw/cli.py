"""Root of the `ttsw` command line.

Each package owns its commands (`<package>/cli.py`); this module only knows where they are and
imports a package's CLI module when one of its commands runs or `--help` lists them. Those
modules import nothing heavy at import time, so `ttsw --help` and `ttsw sql` never load torch,
transformers or vllm. Errors the user can fix (`WarehouseError`) print as one line, no traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

# command -> (package section, "module:attribute")
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("workflow", "ttsw.demo:demo"),
    "simulate": ("generation", "generation.cli:simulate"),
    "generate": ("generation", "generation.cli:generate"),
    "ingest": ("ingest", "ingest.cli:ingest"),
    "grade": ("ingest", "ingest.cli:grade"),
    "build": ("warehouse", "warehouse.cli:build"),
    "sql": ("warehouse", "warehouse.cli:sql"),
    "runs": ("warehouse", "warehouse.cli:runs"),
    "check": ("warehouse", "warehouse.cli:check"),
    "app": ("app", "app.cli:app"),
    "report": ("app", "app.report.cli:report"),
}
SECTIONS = ("workflow", "generation", "ingest", "warehouse", "app")


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name][1].split(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        for section in SECTIONS:
            rows = []
            for name, (sec, _) in COMMANDS.items():
                if sec == section:
                    cmd = self.get_command(ctx, name)
                    rows.append((name, cmd.get_short_help_str(limit=70) if cmd else ""))
            if rows:
                with formatter.section(f"Commands ({section})"):
                    formatter.write_dl(rows)

@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--home", envvar="TTSW_HOME", default="ttsw_home", show_default=True,
              type=click.Path(file_okay=False, path_type=str),
              help="Warehouse home (lake/, warehouse.duckdb, serving/). Env: TTSW_HOME.")
@click.version_option(package_name="tts-warehouse", prog_name="ttsw")
@click.pass_context
def cli(ctx: click.Context, home: str) -> None:
    """tts-warehouse: one warehouse for test-time-scaling experiments.

    Simulate or ingest runs, grade them, build the metrics with dbt, query with SQL, browse
    them in the dashboard. `ttsw demo` does it all on simulated MATH-500 runs.
    """
    from warehouse.home import resolve_home

    ctx.obj = resolve_home(home)
    ctx.meta["ttsw.ingest_sources"] = ingest_sources


def ingest_sources(home, sources: list[tuple[str, str, dict]]) -> list[str]:
    """Ingest (source, format, reader options) items; the summary lines, then one line per run with its id.

    Generation must not import ingest (DESIGN §2): a generate command that offers --ingest finds
    this function in click's context meta ("ttsw.ingest_sources"), put there by the root command.
    """
    from pathlib import Path

    from ingest.runner import ingest
    from warehouse.catalog import memory_connection

    lines = []
    for source, fmt, options in sources:
        summary = ingest(home, [source], fmt=fmt, options=options, progress=False)
        lines += [f"{source} [{fmt}]"] + summary.lines()
        if summary.failed:
            raise click.ClickException(f"ingesting {source} failed: {summary.failed[0]}")
    uris = [str(Path(s).resolve()) for s, _, _ in sources]
    con = memory_connection(home)
    try:
        runs = con.sql("select run_id, name, status from lake.runs where source_uri in (select unnest(?)) "
                       "order by name", params=[uris]).fetchall()
    finally:
        con.close()
    return lines + [f"run {run_id}  {name}  [{status}]" for run_id, name, status in runs]


def main(args: list[str] | None = None) -> None:
    """The `ttsw` entry point: `run`, then exit with its status."""
    sys.exit(run(args))


def run(args: list[str] | None = None) -> int:
    """Run the command line on `args` (default: sys.argv) and return the exit status.

    Every error ends as one line on stderr and status 1 (130 when interrupted): the user's own
    mistakes (`WarehouseError`: file, line or row, field, what to do), an unreadable lake part
    (named, pointing to `ttsw check`), and anything no check foresaw (its type and message, asking
    for a report). TTSW_DEBUG=1 re-raises instead, with the traceback.
    """
    from warehouse.errors import WarehouseError

    ctx = None
    try:
        with cli.make_context("ttsw", sys.argv[1:] if args is None else list(args)) as ctx:
            cli.invoke(ctx)
        return 0
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except BrokenPipeError:  # `ttsw sql … | head`: the reader has all it wanted
        sys.stdout = None  # the interpreter's flush at exit would fail on the closed pipe again
        return 0
    except Exception as exc:
        if os.environ.get("TTSW_DEBUG"):
            raise
        home = getattr(ctx, "obj", None) if ctx is not None else None
        message = str(exc) if isinstance(exc, WarehouseError) else _lake_error(exc, home) or _unforeseen(exc)
        from warehouse.redact import redact

        click.echo(f"error: {redact(one_line(message))}", err=True)
        return 1


def one_line(text: str) -> str:
    """A message as one line: DuckDB's query context (`LINE 1: …` and its caret) and blank lines dropped."""
    lines = [line.strip() for line in str(text).splitlines()]
    kept = [line for line in lines if line and not line.startswith("LINE ") and set(line) != {"^"}]
    return " ".join(kept)


def _lake_error(exc: Exception, home) -> str | None:
    """A DuckDB or Arrow error about a file of the lake, told as such: which part, and `ttsw check`."""
    if home is None or not type(exc).__module__.startswith(("duckdb", "pyarrow", "_duckdb")):
        return None
    import duckdb

    from warehouse.catalog import explain

    text = one_line(str(exc))
    lake = str(home.lake)
    if lake not in text:
        if isinstance(exc, duckdb.Error):
            return str(explain(exc, home))
        return None
    told = str(explain(duckdb.InvalidInputException(text), home))
    if lake not in told:  # explain names no part: say which folder it is in at least
        told = f"cannot read the lake ({lake}): {text}"
    return told if "ttsw check" in told else f"{told} (`ttsw check` lists every unreadable part)"


def _unforeseen(exc: Exception) -> str:
    where = exc.filename if isinstance(exc, OSError) and exc.filename else None
    return (f"{type(exc).__name__}: {exc}" + (f" ({where})" if where and str(where) not in str(exc) else "")
            + " — set TTSW_DEBUG=1 for the traceback, and please report it")

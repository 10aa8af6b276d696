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


def main() -> None:
    from warehouse.errors import WarehouseError

    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except WarehouseError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug or an input no check foresaw: one line; TTSW_DEBUG=1 shows the traceback
        if os.environ.get("TTSW_DEBUG"):
            raise
        where = exc.filename if isinstance(exc, OSError) and exc.filename else None
        click.echo(f"error: {type(exc).__name__}: {exc}" + (f" ({where})" if where and str(where) not in str(exc)
                                                           else "")
                   + " — set TTSW_DEBUG=1 for the traceback, and please report it", err=True)
        sys.exit(1)

"""Helpers shared by the reliability suite: run `ttsw` in-process or as a child, read the lake.

`ttsw_in_process` calls `ttsw.cli.run` (the entry point's own error handling) with stdout and
stderr captured, so hundreds of commands cost no interpreter start each; `ttsw_child` runs the real
console command in a subprocess, for what only a child shows (a traceback printed by the
interpreter, the exit status the shell sees).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def ttsw_in_process(home: Path, *args: str) -> Ran:
    from ttsw.cli import run

    with CliRunner().isolation() as (out, err, _):
        code = run(["--home", str(home), *args])
        sys.stdout.flush()
        sys.stderr.flush()
        stdout, stderr = out.getvalue(), err.getvalue()
    return Ran(code, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"))


def ttsw_child(home: Path, *args: str, timeout: float = 120) -> Ran:
    proc = subprocess.run([sys.executable, "-m", "ttsw", "--home", str(home), *args], capture_output=True,
                          text=True, timeout=timeout)
    return Ran(proc.returncode, proc.stdout, proc.stderr)


def lake_rows(home: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of a query over the lake views of a home (an in-memory DuckDB, never warehouse.duckdb)."""
    from warehouse.catalog import memory_connection
    from warehouse.home import Home

    con = memory_connection(Home(home))
    try:
        return con.sql(sql, params=params).fetchall()
    finally:
        con.close()

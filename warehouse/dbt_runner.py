"""Build the warehouse with dbt beside the live one, then publish it and its marts atomically.

`build` never writes the live `warehouse.duckdb`, so readers never block it and never see it
half-built: under the home's `build` lock it copies the live file to `build/next/` (so
incremental models keep their state), refreshes the `lake` views there, runs `dbt build` on that
copy (the profile reads its path from `TTSW_DBT_DATABASE`), exports every table of schema `marts`
to a new serving snapshot `serving/<build id>/`, swaps the new file in with `os.replace`, and
writes the pointer `serving/CURRENT` last. Readers keep the file and snapshot they opened until
they reopen; the previous snapshot is kept for them, older ones are pruned.

dbt runs in its own process group and dies with the build: an exception, Ctrl-C, SIGTERM or
SIGHUP kills the group, and for a `kill -9` of the build the dbt process watches its stdin,
a pipe from the build, and kills its own group when the pipe closes. Whatever the moment of an
interruption, the live file and the current snapshot are whole; the next build clears what an
interrupted one left in `build/next/` and `serving/.next/`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import duckdb

from warehouse.catalog import write_catalog
from warehouse.errors import WarehouseError
from warehouse.home import Home
from warehouse.locks import exclusive

PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
NO_MATCH_MARKER = "does not match any enabled nodes"
DATABASE_ENV = "TTSW_DBT_DATABASE"
BUILD_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
STAGING = ".next"  # serving/.next/: the snapshot being exported


class DbtFailed(WarehouseError):
    """dbt build finished with errors or failing tests."""


def project_dir() -> Path:
    if not (PROJECT_DIR / "dbt_project.yml").exists():
        raise WarehouseError(f"dbt project not found at {PROJECT_DIR}; install tts-warehouse from a checkout (pip install -e .)")
    return PROJECT_DIR


# The dbt process: first a watchdog that kills the process group when stdin (a pipe from the
# build) reaches end of file, i.e. when the build has ended however it ended, even by SIGKILL
# (a raw read: a daemon thread blocked in sys.stdin's buffer would abort the interpreter's exit).
# Then the click entry point, called as the `dbt` console script does (`python -m dbt.cli.main`
# makes runpy warn, since dbt.cli imports dbt.cli.main itself).
_DBT_ENTRY = """\
import os, signal, sys, threading
def _orphaned():
    while os.read(0, 65536):
        pass
    os.killpg(0, signal.SIGKILL)
threading.Thread(target=_orphaned, daemon=True).start()
from dbt.cli.main import cli
sys.argv[0] = 'dbt'
sys.exit(cli())
"""


def dbt_command(home: Home, args: list[str]) -> list[str]:
    return [sys.executable, "-c", _DBT_ENTRY, *args,
            "--project-dir", str(project_dir()), "--profiles-dir", str(project_dir()),
            "--target-path", str(home.root / "dbt" / "target"), "--log-path", str(home.root / "dbt" / "logs")]


def run_dbt(home: Home, args: list[str], *, database: Path | None = None, echo: bool = True) -> str:
    """Run one dbt command on `database` (default: the live file, in place); return its output.

    dbt gets its own process group, ended with it if this call is interrupted in any way."""
    env = {**os.environ, "TTSW_HOME": str(home.root), DATABASE_ENV: str(database or home.db_path),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    proc = subprocess.Popen(dbt_command(home, args), env=env, text=True, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    lines = []
    assert proc.stdout is not None and proc.stdin is not None
    try:
        for line in proc.stdout:
            lines.append(line)
            if echo:
                sys.stderr.write(line)
        returncode = proc.wait()
    except BaseException:
        _kill_group(proc)
        raise
    finally:
        proc.stdin.close()
        proc.stdout.close()
    output = "".join(lines)
    if returncode != 0:
        tail = "".join(lines[-25:])
        raise DbtFailed(f"dbt {' '.join(args)} failed (exit {returncode}). Last lines:\n{tail}")
    return output


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


@contextmanager
def _signals_end_the_build() -> Iterator[None]:
    """SIGTERM and SIGHUP raise SystemExit, so cleanup (and dbt's end) runs as for Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _new_build_id() -> str:
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def export_marts(home: Home, database: Path, build_id: str) -> dict[str, int]:
    """Copy every table of schema `marts` in `database` to the snapshot folder `serving/<build_id>/`
    (written as serving/.next/, renamed when whole); return rows per mart. Does not publish it."""
    staging = home.serving_root / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    con = duckdb.connect(str(database), read_only=True)
    counts: dict[str, int] = {}
    try:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "and table_type = 'BASE TABLE' order by 1").fetchall()]
        for name in names:
            path = staging / f"{name}.parquet"
            con.execute(f"copy marts.{name} to '{path}' (format parquet, compression zstd)")
            _fsync(path)
            counts[name] = con.execute(f"select count(*) from marts.{name}").fetchone()[0]
    finally:
        con.close()
    manifest = {"build_id": build_id, "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "marts": counts}
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    _fsync(staging / "manifest.json")
    _fsync(staging)
    os.rename(staging, home.snapshot_dir(build_id))
    return counts


def publish_snapshot(home: Home, build_id: str) -> None:
    """Point serving/CURRENT at `build_id` (atomic replace), then prune all but it and the previous one."""
    previous = home.serving_id()
    pointer = home.serving_pointer
    fresh = pointer.with_name(f".{pointer.name}.{build_id}")
    fresh.write_text(build_id + "\n")
    _fsync(fresh)
    os.replace(fresh, pointer)
    _fsync(home.serving_root)
    keep = {build_id, previous}
    for entry in home.serving_root.iterdir():
        if entry.is_dir() and (BUILD_ID.match(entry.name) and entry.name not in keep or entry.name == STAGING):
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.is_file() and (entry.suffix == ".parquet" or entry.name == "manifest.json"
                                  or entry.name.startswith(f".{pointer.name}.")):
            entry.unlink(missing_ok=True)  # a pre-snapshot home's marts, or a pointer never swapped in


def _swap_in(home: Home, database: Path) -> None:
    """Replace the live file by `database`; open readers keep the old one until they reopen."""
    if Path(f"{database}.wal").exists():  # a file moved without its log would lose what the log holds
        duckdb.connect(str(database)).execute("checkpoint").close()
    _fsync(database)
    # a log left beside the live file (a crashed read-write session) was copied with it and
    # replayed into `database`; left in place it would be replayed into the new file too
    Path(f"{home.db_path}.wal").unlink(missing_ok=True)
    os.replace(database, home.db_path)
    _fsync(home.root)


def _start_from_live(home: Home, database: Path) -> None:
    if home.db_path.exists():
        shutil.copyfile(home.db_path, database)
        wal = Path(f"{home.db_path}.wal")
        if wal.exists():
            shutil.copyfile(wal, f"{database}.wal")


def build(home: Home, *, select: str | None = None, variables: dict | None = None,
          echo: bool = True) -> dict[str, int]:
    """Refresh the lake views, `dbt build` (models and tests), publish the marts as a serving snapshot.

    `variables` override the project's vars (dbt's `--vars`), e.g. {"mc_draws": 1000}. One build
    at a time per home: a second one raises `WarehouseBusy` naming the first.
    """
    home.require_lake()
    args = ["build"] + (["--select", select] if select else [])
    if variables:
        args += ["--vars", json.dumps(variables)]
    with exclusive(home, "build"), _signals_end_the_build():
        folder = home.build_root / "next"  # one fixed path: dbt's partial parse keys on the profile
        shutil.rmtree(folder, ignore_errors=True)  # an interrupted build's
        folder.mkdir(parents=True)
        database = folder / home.db_path.name  # same name: dbt's views name their database
        try:
            _start_from_live(home, database)
            write_catalog(home, database)
            output = run_dbt(home, args, database=database, echo=echo)
            if select and NO_MATCH_MARKER in output:
                # dbt only warns and builds nothing; publishing the old marts would look like success
                raise DbtFailed(f"--select {select!r} matches no dbt model or test. Select by model name "
                                "('selection_accuracy+'), by folder ('path:models/marts') or by fully "
                                "qualified name ('marts.selection.selection_accuracy+').")
            build_id = _new_build_id()
            counts = export_marts(home, database, build_id)
            _swap_in(home, database)
            publish_snapshot(home, build_id)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(home.serving_root / STAGING, ignore_errors=True)
    return counts

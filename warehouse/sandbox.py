"""The read-only SQL sandbox behind `ttsw sql` and the dashboard's SQL console: a locked-down
DuckDB over the marts and the lake, the statement guard in front of it, and the limits every
query runs under (no Streamlit here).

Two layers keep a query inside the warehouse. The guard accepts one read statement (SELECT,
WITH, FROM, DESCRIBE, SHOW, SUMMARIZE, VALUES, EXPLAIN of one of those, or a catalog PRAGMA
such as `pragma table_info('runs_summary')`) and refuses the rest (COPY, ATTACH, INSTALL, LOAD,
CREATE, INSERT, SET, EXPORT, several statements...) with a message naming what was refused; in a
read it refuses table functions with side effects or that run a query string (`checkpoint()`,
`query()`, ...) and file functions whose path is an expression, so every path is in the text. The
connection is the second layer, for anything the guard lets through: after the views exist, file
access is limited to the home's serving/ and lake/ folders (`allowed_directories` with
`enable_external_access = false`), extensions are neither installed nor loaded, and the
configuration is locked so no statement can undo that.

`ttsw sql` and the console share one sandbox, `open_sandbox`: an in-memory DuckDB over the
current serving snapshot and the lake, where a mart is reachable as `<mart>` and `marts.<mart>`
and a lake table as `lake.<table>`. `unsafe_sandbox` (`ttsw sql --unsafe`) is warehouse.duckdb
opened read-only, without guard or lockdown, under the same limits.

Every query runs under `Limits`: a statement timeout (a timer thread interrupts the query; 30 s
by default), DuckDB's memory limit (a quarter of the memory) and thread count. DuckDB may read
and write its temp directory whatever `allowed_directories` says, so each sandbox gets a private
one from `mkdtemp` (mode 0700, outside the home and the working directory), removed on close,
and the guard refuses a query naming it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from warehouse.catalog import connect, explain
from warehouse.errors import WarehouseError
from warehouse.home import Home
from warehouse.serving import serving_connection

DEFAULT_ROW_LIMIT = 10_000
DEFAULT_TIMEOUT_S = 30.0
TIMEOUT_ENV = "TTSW_SQL_TIMEOUT"
MEMORY_LIMIT_ENV = "TTSW_SQL_MEMORY_LIMIT"
THREADS_ENV = "TTSW_SQL_THREADS"
READ_TYPES = {duckdb.StatementType.SELECT}
# PRAGMAs that only describe the catalog
READ_PRAGMAS = {"table_info", "show_tables", "show_tables_expanded", "database_list", "version",
                "functions", "platform", "database_size", "storage_info"}
_EXPLAIN = re.compile(r"^\s*explain\s+(analyze\s+)?", re.IGNORECASE)
_PRAGMA_NAME = re.compile(r"^\s*pragma\s+([a-z_][a-z0-9_]*)", re.IGNORECASE)
_LEADING_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)
# table functions with side effects, or that run a query string the guard never sees
REFUSED_FUNCTIONS = {"query", "query_table", "checkpoint", "force_checkpoint", "enable_logging", "disable_logging",
                     "truncate_duckdb_logs", "enable_profiling", "disable_profiling"}
# table functions that open files: their paths must be written out, so the guard sees every one
_FILE_FUNCTION = re.compile(r"^(read_\w+|glob|sniff_csv|parquet_\w+|\w+_scan)$")
_DBT_SCHEMA = re.compile(r'schema "(staging|intermediate)" does not exist')
_PARSER = duckdb.connect(":memory:")  # only parses: json_serialize_sql
_CGROUP_MEMORY = Path("/sys/fs/cgroup/memory.max")


class RefusedQuery(WarehouseError):
    """A statement the sandbox does not run: it could write, or reach outside the warehouse."""


class QueryTimeout(WarehouseError):
    """A query stopped by the statement timeout."""


def _memory_bytes() -> int:
    """Physical memory, or the container's cgroup limit when that is lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        cap = _CGROUP_MEMORY.read_text().strip()
    except OSError:
        cap = ""
    return min(total, int(cap)) if cap.isdigit() else total


def default_memory_limit() -> str:
    return f"{max(_memory_bytes() // 4 // 2**20, 64)}MiB"


def default_threads() -> int:
    """Half the cores: a runaway query leaves the machine (and the app's other viewers) room."""
    return max(1, (os.cpu_count() or 2) // 2)


@dataclass(frozen=True)
class Limits:
    """What one query may take: seconds (`timeout_s`), DuckDB memory (`memory_limit`, e.g. '4GiB')
    and threads. `hint` is where the user raises the timeout, named in the timeout message."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    memory_limit: str = field(default_factory=default_memory_limit)
    threads: int = field(default_factory=default_threads)
    hint: str = f"${TIMEOUT_ENV}"

    @classmethod
    def from_env(cls, timeout_s: float | None = None, hint: str | None = None) -> "Limits":
        """Defaults, overridden by $TTSW_SQL_TIMEOUT, $TTSW_SQL_MEMORY_LIMIT and $TTSW_SQL_THREADS,
        then by an explicit `timeout_s` (a command-line option)."""
        env_timeout = _env_number(TIMEOUT_ENV, float)
        threads = _env_number(THREADS_ENV, int)
        limits = cls(memory_limit=os.environ.get(MEMORY_LIMIT_ENV) or default_memory_limit(),
                     threads=threads or default_threads(), hint=hint or cls.hint,
                     timeout_s=timeout_s or env_timeout or DEFAULT_TIMEOUT_S)
        if limits.timeout_s <= 0:
            raise WarehouseError(f"the SQL timeout must be a positive number of seconds, not {limits.timeout_s:g}")
        return limits


def _env_number(name: str, kind: type) -> float | int | None:
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or value <= 0:
        raise WarehouseError(f"${name} = {text!r}: expected a positive {kind.__name__}; fix or unset it")
    return value


@dataclass(frozen=True)
class Result:
    table: pa.Table
    truncated: bool  # more rows than the limit: `table` holds the first `limit`


class Sandbox:
    """A DuckDB connection under `Limits`, with its private temp folder; `guarded` sandboxes run
    only what `check_statement` accepts. Safe to share between threads (one cursor per query)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, home: Home, limits: Limits, temp_dir: str,
                 *, guarded: bool = True, search_path: str | None = None) -> None:
        self.con, self.home, self.limits, self.temp_dir = con, home, limits, temp_dir
        self.guarded, self.search_path = guarded, search_path
        self._cleanup = weakref.finalize(self, _close, con, temp_dir)

    def close(self) -> None:
        self._cleanup()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def query(self, sql: str, limit: int | None = DEFAULT_ROW_LIMIT) -> Result:
        """Run `sql` (one guarded read statement), keeping at most `limit` rows (None: all).

        Refused statements and file access outside the warehouse raise `RefusedQuery`, a query
        past the timeout `QueryTimeout`; other SQL errors (a typo, a missing column) raise
        `WarehouseError` with DuckDB's message. An unguarded sandbox runs `sql` as DuckDB would,
        and returns None for statements without a result.
        """
        statement = check_statement(sql) if self.guarded else sql
        if self.guarded and Path(self.temp_dir).name in statement:
            raise RefusedQuery("DuckDB's temp folder is private to the sandbox")
        with self.con.cursor() as cursor:
            if self.search_path:  # a cursor starts from the default search path
                cursor.execute("set search_path = $path", {"path": self.search_path})
            stopped = threading.Event()

            def stop() -> None:
                stopped.set()
                cursor.interrupt()

            timer = threading.Timer(self.limits.timeout_s, stop)
            timer.daemon = True
            timer.start()
            try:
                return self._fetch(cursor, statement, limit)
            except (duckdb.Error, OSError) as exc:  # pyarrow raises OSError for an interrupted read
                if stopped.is_set():
                    raise QueryTimeout(f"query stopped after {self.limits.timeout_s:g} s; add a limit/filter "
                                       f"or raise {self.limits.hint}") from exc
                if isinstance(exc, duckdb.PermissionException):
                    raise RefusedQuery(f"outside the warehouse: {exc}") from exc
                if isinstance(exc, duckdb.Error):
                    if _DBT_SCHEMA.search(str(exc)):
                        raise WarehouseError(f"{str(exc).rstrip('.')}. The staging and intermediate schemas are in "
                                             "warehouse.duckdb only, outside the sandbox: use `ttsw sql --unsafe`"
                                             ) from exc
                    raise explain(exc, self.home) from exc
                raise WarehouseError(str(exc)) from exc
            finally:
                timer.cancel()

    @staticmethod
    def _fetch(cursor: duckdb.DuckDBPyConnection, statement: str, limit: int | None) -> Result | None:
        relation = cursor.sql(statement)
        if relation is None:
            return None
        reader = relation.to_arrow_reader(batch_size=min((limit or 100_000) + 1, 100_000))
        batches, rows = [], 0
        for batch in reader:
            batches.append(batch)
            rows += batch.num_rows
            if limit is not None and rows > limit:
                break
        table = pa.Table.from_batches(batches, schema=reader.schema)
        if limit is None:
            return Result(table, False)
        return Result(table.slice(0, limit), rows > limit)

    def catalog(self) -> pa.Table:
        """Every mart (as `<mart>`) and lake view with its columns and their types, in view order."""
        with self.con.cursor() as cursor:
            return cursor.sql("""
                select case when schema_name = 'main' then table_name else schema_name || '.' || table_name end
                           as "view",
                       column_name as "column", data_type as "type"
                from duckdb_columns()
                where database_name = current_database() and schema_name in ('main', 'lake')
                order by schema_name = 'lake', table_name, column_index""").to_arrow_table()


def _close(con: duckdb.DuckDBPyConnection, temp_dir: str) -> None:
    con.close()
    shutil.rmtree(temp_dir, ignore_errors=True)


def open_sandbox(home: Home, limits: Limits | None = None, folder: Path | None = None) -> Sandbox:
    """The sandbox of `ttsw sql` and the console: in-memory, a view per mart of the serving
    snapshot `folder` (default: the current one; also as `marts.<mart>`) and the `lake` views,
    then locked down.

    It never opens warehouse.duckdb: that file's views name their parts relative to the home, and
    `allowed_directories` checks a path as written, so allowing `lake/` would also allow the
    working directory's lake/ (DuckDB falls back to it). The in-memory views use absolute paths.
    """
    con = serving_connection(home, folder)
    try:
        marts = [row[0] for row in con.execute(
            "select view_name from duckdb_views() where database_name = current_database() "
            "and schema_name = 'main' and not internal").fetchall()]
        con.execute("create schema if not exists marts")
        for mart in marts:
            con.execute(f'create or replace view marts."{mart}" as select * from main."{mart}"')
        return _locked(con, home, limits or Limits.from_env())
    except BaseException:
        con.close()
        raise


def unsafe_sandbox(home: Home, limits: Limits | None = None) -> Sandbox:
    """warehouse.duckdb opened read-only with DuckDB's full powers (any file, COPY, ATTACH,
    extensions, settings, several statements; schemas staging and intermediate too), under the
    limits only; marts reachable without their schema. For the owner: `ttsw sql --unsafe`."""
    limits = limits or Limits.from_env()
    con = connect(home, read_only=True)
    try:
        schemas = {row[0] for row in con.execute(
            "select schema_name from duckdb_schemas() where database_name = current_database()").fetchall()}
        temp_dir = _apply_limits(con, limits)
        return Sandbox(con, home, limits, temp_dir, guarded=False,
                       search_path=",".join(name for name in ("main", "marts") if name in schemas))
    except BaseException:
        con.close()
        raise


def _apply_limits(con: duckdb.DuckDBPyConnection, limits: Limits) -> str:
    """Set memory, threads and a private temp folder; returns that folder."""
    temp_dir = tempfile.mkdtemp(prefix="ttsw-sql-")
    try:
        con.execute("set temp_directory = $dir", {"dir": temp_dir})
        con.execute("set threads = $threads", {"threads": limits.threads})
        try:
            con.execute("set memory_limit = $limit", {"limit": limits.memory_limit})
        except duckdb.Error as exc:
            raise WarehouseError(f"memory limit {limits.memory_limit!r} ({MEMORY_LIMIT_ENV}): {exc}") from exc
    except BaseException:
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    return temp_dir


def _locked(con: duckdb.DuckDBPyConnection, home: Home, limits: Limits) -> Sandbox:
    temp_dir = _apply_limits(con, limits)
    # the views read lazily: they go on working inside the allowed folders
    allowed = [f"{folder}/" for folder in (home.serving_root, home.lake) if folder.is_dir()]
    con.execute("set autoinstall_known_extensions = false")
    con.execute("set autoload_known_extensions = false")
    con.execute("set allowed_directories = $allowed", {"allowed": allowed})
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")
    return Sandbox(con, home, limits, temp_dir)


def _check_functions(text: str) -> None:
    """Refuse REFUSED_FUNCTIONS, and file functions whose path is computed rather than written out."""
    with _PARSER.cursor() as cursor:
        tree = json.loads(cursor.execute("select json_serialize_sql($sql)", {"sql": text}).fetchall()[0][0])
    if tree.get("error"):
        raise RefusedQuery(f"cannot check this statement: {tree.get('error_message')}")
    for function in _table_functions(tree):
        name = function.get("function_name", "").lower()
        if name in REFUSED_FUNCTIONS:
            raise RefusedQuery(f"{name}() is refused: SQL here only reads the warehouse")
        if _FILE_FUNCTION.match(name) and not all(map(_is_literal, _positional(function))):
            raise RefusedQuery(f"{name}(): write the file path(s) out as text, not as an expression")


def _table_functions(node: Any) -> Iterator[dict]:
    """The function of every TABLE_FUNCTION in a serialized statement, subqueries included."""
    if isinstance(node, dict):
        if node.get("type") == "TABLE_FUNCTION" and isinstance(node.get("function"), dict):
            yield node["function"]
        for child in node.values():
            yield from _table_functions(child)
    elif isinstance(node, list):
        for child in node:
            yield from _table_functions(child)


def _positional(function: dict) -> list[dict]:
    """A function's positional arguments: not `name := value`, nor the older `name = value`."""
    return [argument["expression"] for argument in function.get("arguments", [])
            if not argument.get("name") and argument["expression"].get("class") != "COMPARISON"]


def _is_literal(expression: dict) -> bool:
    if expression.get("class") == "CONSTANT":
        return True
    if expression.get("class") != "FUNCTION" or expression.get("function_name") != "list_value":
        return False
    items = [argument["expression"] for argument in expression.get("arguments", [])]
    return all(_is_literal(item) for item in items + expression.get("children", []))


def _explained(text: str) -> list[duckdb.Statement]:
    """The statements an EXPLAIN [ANALYZE] wraps; none when that is not plain text after it."""
    explained = _EXPLAIN.sub("", text, count=1)
    try:
        return duckdb.extract_statements(explained) if explained != text else []
    except duckdb.Error:
        return []


def check_statement(sql: str) -> str:
    """The single read statement `sql` holds, or `RefusedQuery` saying why it is not run
    (`WarehouseError` when it does not parse)."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot parse the query: {exc}") from exc
    if not statements:
        raise RefusedQuery("the query is empty")
    if len(statements) > 1:
        raise RefusedQuery(f"one statement at a time: this holds {len(statements)}")
    statement = statements[0]
    _check_read(statement.type, statement.query)
    return statement.query


def _check_read(kind: duckdb.StatementType, text: str) -> None:
    text = _LEADING_COMMENTS.sub("", text, count=1)
    if kind in READ_TYPES:
        _check_functions(text)
        return
    if kind == duckdb.StatementType.EXPLAIN:
        inner = _explained(text)
        if len(inner) == 1:
            _check_read(inner[0].type, inner[0].query)
            return
    elif kind == duckdb.StatementType.PRAGMA:
        match = _PRAGMA_NAME.match(text)
        if match and match[1].lower() in READ_PRAGMAS:
            return
        raise RefusedQuery(f"only catalog PRAGMAs are allowed ({', '.join(sorted(READ_PRAGMAS))})")
    # the statement's own keyword reads better than DuckDB's type (INSTALL parses as LOAD)
    keyword = text.split(maxsplit=1)[0].upper() if text else kind.name
    raise RefusedQuery(f"{keyword} statements are refused: SQL here is read-only and sees only the "
                       "warehouse (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN and catalog PRAGMAs)")

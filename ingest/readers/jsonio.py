"""Shared parsing for the file readers: bytes to checked records, every error naming its place.

The four file formats (bon-parquet, prm-json, reasoning-traces, qwen-math-eval) read through these
helpers, so they fail the same way on the same bad input:

- `load_json` reads a whole JSON document; `iter_jsonl` streams JSON lines one at a time. An empty
  file, bytes that are not UTF-8, a syntax error or a truncated end becomes a `SourceError` naming
  the file and line (and column). There is no size limit: a 50 MB completion is read like any other
  string; a whole-document file is held in memory while it is read, a JSONL file one line at a time.
- What JSON allows but the lake cannot hold is an error there too, naming file, line and field:
  nesting deeper than `MAX_DEPTH` (Python's parser would fail with a RecursionError, later code on
  the value too), an integer longer than Python converts (4,300 digits), and a lone UTF-16
  surrogate (`"\\ud800"`: no UTF-8 text can hold it). The checks cost a walk of the value only
  when the raw bytes could hold such a thing (enough brackets, a `\\uD8xx`-`\\uDFxx` escape).
- `Place` is where a record sits (file + line for JSONL, file + 0-based row for Parquet rows and
  items of a JSON list). `Place.get` checks that a field is present and of the expected kind, and
  raises a `SourceError` naming file, line/row and field when it is not. An "int" must fit the
  lake's 64-bit integers, a "number" a double (a larger one is an error, never an OverflowError).
- Policies every reader shares: a duplicate (problem, sample) keeps its first copy and skips the
  later ones, counted under `DUPLICATE`; a score that is NaN or infinite is skipped and counted
  (a NaN where a count or id belongs is a wrong type, an error).
- A Git LFS pointer (a file committed to LFS but never pulled: its first line is `version
  https://git-lfs…`) is an `LfsPointer` error wherever JSON or JSONL is read or peeked at, saying
  to run `git lfs pull`, instead of a JSON syntax error on line 1.
- `content_hash` (the identity of a source: same bytes, same run), `peek` and `head_keys` (cheap sniffing).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Container, Iterator

import pyarrow as pa

from ingest.readers.base import SourceError
from warehouse.tables import get_table

DUPLICATE = "duplicate (problem, sample): later copies skipped"

MAX_DEPTH = 100  # JSON nesting the readers accept; real outputs nest a dozen levels at most
INT64 = (-(2 ** 63), 2 ** 63 - 1)
_KEY = re.compile(rb'"([A-Za-z_][A-Za-z0-9_-]*)"\s*:')
# The first line of a Git LFS pointer file (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md);
# pointers written before LFS 1.0 named the spec under hawser.github.com.
_LFS_POINTER = (b"version https://git-lfs.", b"version https://hawser.")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class LfsPointer(SourceError):
    """The file is a Git LFS pointer: the data was never fetched."""

    def __init__(self, path: Any):
        super().__init__(path, "this is a Git LFS pointer, not the file: run `git lfs pull` in the repository "
                               "it came from, then ingest again")


def _starts_as_pointer(data: bytes) -> bool:
    return data.startswith(_LFS_POINTER)


def is_lfs_pointer(path: str | Path) -> bool:
    """Whether a file is a Git LFS pointer (False when it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            return _starts_as_pointer(handle.read(64))
    except OSError:
        return False


def content_hash(path: str | Path) -> str:
    """sha256 of the file's bytes, read in blocks."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def peek(path: str | Path, size: int = 65536, *, end: bool = False) -> bytes:
    """The first `size` bytes of a file (its last, with `end`); b"" when it cannot be read. A Git LFS
    pointer is an `LfsPointer` error: no format can be told from it, and it says what to do."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(size)
            if _starts_as_pointer(data):
                raise LfsPointer(path)
            if end:
                total = handle.seek(0, 2)
                handle.seek(max(0, total - size))
                data = handle.read(size)
            return data
    except OSError:
        return b""


def keys_in(data: bytes) -> set[str]:
    """The JSON object keys named in a piece of JSON text (nested ones too)."""
    return {m.decode() for m in _KEY.findall(data)}


def head_keys(path: str | Path, size: int = 65536) -> set[str]:
    """The JSON object keys named in the first `size` bytes (nested ones too): enough to sniff."""
    return keys_in(peek(path, size))


def _not_utf8(path, data: bytes, exc: UnicodeDecodeError, line: int, line_start: int = 0) -> SourceError:
    column = exc.start - line_start + 1
    return SourceError(path, f"not UTF-8: byte 0x{data[exc.start]:02x} at column {column}", line=line)


def _decode_json(path: Any, text: str, raw: bytes, line: int | None,
                 ended: Callable[[json.JSONDecodeError], str]) -> Any:
    """`json.loads(text)`, every failure a `SourceError` at `line` (the error's own line when None),
    prefixed by `ended(error)` for a syntax error (what a cut-short file says); then `_unstorable`."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(path, f"{ended(exc)}invalid JSON at column {exc.colno}: {exc.msg}",
                          line=exc.lineno if line is None else line) from None
    except RecursionError:
        raise SourceError(path, f"JSON nested too deeply (more than {MAX_DEPTH} levels)", line=line) from None
    except ValueError as exc:  # Python's limit on the digits of an integer (int_max_str_digits)
        raise SourceError(path, f"a number too long to read: {exc}".split(";")[0], line=line) from None
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH or _SURROGATE_ESCAPE.search(raw):
        problem = _unstorable(value)
        if problem is not None:
            field, message = problem
            raise SourceError(path, message, line=line, field=field or None)
    return value


def _unstorable(value: Any) -> tuple[str, str] | None:
    """(field path, what is wrong) of the first part of a parsed value the lake cannot hold: nesting
    deeper than MAX_DEPTH, a string with a lone surrogate. Iterative, so any depth is walked safely."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            if any("\ud800" <= c <= "\udfff" for c in item) and not _encodes(item):
                return where, "a lone UTF-16 surrogate (\\ud800-\\udfff): not valid Unicode text; fix the writer"
        elif isinstance(item, (list, dict)):
            if depth >= MAX_DEPTH:
                return where, f"JSON nested too deeply (more than {MAX_DEPTH} levels)"
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                name = f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}" if where else key
                if isinstance(key, str) and not _encodes(key):
                    return name, "a key holds a lone UTF-16 surrogate: not valid Unicode text; fix the writer"
                stack.append((child, name, depth + 1))
    return None


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def load_json(path: str | Path) -> Any:
    """The parsed JSON document; a `SourceError` with the line for every way it can be unreadable."""
    data = Path(path).read_bytes()
    if not data.strip():
        raise SourceError(path, "empty file")
    if _starts_as_pointer(data):
        raise LfsPointer(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _not_utf8(path, data, exc, line, data.rfind(b"\n", 0, exc.start) + 1) from None
    end = len(text.rstrip())
    return _decode_json(path, text, data, None, lambda exc: "file ends early (truncated?): " if (
        exc.pos >= end or exc.msg.startswith("Unterminated string")) else "")


def iter_jsonl(path: str | Path, *, objects: bool = True, label: str | None = None) -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line; each line is decoded and checked on its own.

    Values must be JSON objects unless `objects` is false (rank logs hold one list per line).
    Errors name `label` (a Hub address, say) instead of the local path when given.
    """
    name = label or path
    found = False
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            if not found and _starts_as_pointer(raw):
                raise LfsPointer(name)
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise _not_utf8(name, raw, exc, number) from None
            cut = "" if raw.endswith(b"\n") else "last line ends early (truncated?): "
            record = _decode_json(name, text, raw, number, lambda exc: cut)
            if objects and not isinstance(record, dict):
                raise SourceError(name, f"expected a JSON object, got {kind_of(record)}", line=number)
            found = True
            del raw, text  # a long line is held once (parsed) while the caller works on it, not three times
            yield number, record
    if not found:
        raise SourceError(name, "empty file: no JSON lines")


def kind_of(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if _is_int(value) and not fits_int64(value):
        return f"an integer of {len(str(abs(value)))} digits, beyond the 64-bit range"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def fits_int64(value: int) -> bool:
    """Whether an integer fits the lake's 64-bit integer columns."""
    return INT64[0] <= value <= INT64[1]


def _fits_double(value: int | float) -> bool:
    try:
        float(value)
    except OverflowError:
        return False
    return True


# kind -> (accepts, what the error says was expected, conversion)
_KINDS = {
    "text": (lambda v: isinstance(v, str), "a string", lambda v: v),
    "answer": (lambda v: isinstance(v, str) or (_is_number(v) and _fits_double(v) and math.isfinite(v)),
               "a string or number", str),
    "int": (lambda v: _is_int(v) and fits_int64(v), "an integer", lambda v: v),
    "number": (lambda v: _is_number(v) and _fits_double(v), "a number", float),
    "bool": (lambda v: isinstance(v, bool), "true or false", lambda v: v),
    "list": (lambda v: isinstance(v, list), "a list", lambda v: v),
    "object": (lambda v: isinstance(v, dict), "an object", lambda v: v),
}


@dataclass(frozen=True)
class Place:
    """Where a record sits in its source, for errors that say file, line or row, and field."""

    path: str
    line: int | None = None
    row: int | None = None

    def error(self, message: str, field: str | None = None) -> SourceError:
        return SourceError(self.path, message, line=self.line, row=self.row, field=field)

    def check(self, value: Any, kind: str, field: str) -> Any:
        """`value` converted for `kind`; a wrong kind is an error naming `field`."""
        accepts, expected, convert = _KINDS[kind]
        if not accepts(value):
            raise self.error(f"expected {expected}, got {kind_of(value)}", field)
        return convert(value)

    def get(self, record: dict, key: str, kind: str, *, required: bool = True) -> Any:
        """`record[key]` checked for `kind`; absent or null is an error when `required`, else None."""
        value = record.get(key)
        if value is None:
            if required:
                raise self.error("missing" if key not in record else "is null", key)
            return None
        return self.check(value, kind, key)

    def items(self, record: dict, key: str, kind: str, *, required: bool = True,
              nullable: bool = False) -> list | None:
        """A list field whose elements are all of `kind` (or null, when `nullable`)."""
        values = self.get(record, key, "list", required=required)
        if values is None:
            return None
        return [None if v is None and nullable else self.check(v, kind, f"{key}[{i}]")
                for i, v in enumerate(values)]


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def first_key(keys: Container[str], names: tuple[str, ...]) -> str | None:
    """The first of `names` found in `keys` (a record, column names): for fields named several ways."""
    return next((name for name in names if name in keys), None)


def problems_table(rows: list[dict]) -> pa.Table:
    """Rows of the `problems` table, one per problem id (the first row given for each)."""
    unique: dict[str, dict] = {}
    for row in rows:
        unique.setdefault(row["problem_id"], row)
    return pa.Table.from_pylist(list(unique.values()), schema=get_table("problems").schema)

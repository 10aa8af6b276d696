"""Metadata a source lacks, given by the user: `ttsw ingest --meta KEY=VALUE` for any `runs` column.

One mechanism for every format. `parse_given` turns the flags into typed values (types from the
`runs` contract); `apply_given` merges them into a run a reader found, before any row is written:

- a column the source leaves null takes the given value;
- a column the reader only guessed from a file or folder name (`RunData.guessed`) is replaced, with a
  warning saying what the guess was;
- a column the source states (a config name, the file's own fields) must agree: a different given
  value is a `SourceError`, never a silent override.

Every column's origin is kept in `runs.config` under `provenance`, and the columns no source and no flag
filled are named in one warning line with the flag that sets them (`missing_warning`).
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import pyarrow as pa

from ingest.readers.base import RunData, SourceError
from warehouse.tables import RUNS

# Columns the warehouse sets itself (identity, lifecycle, bookkeeping): never given.
NOT_GIVEN = frozenset({"run_id", "name", "source", "source_format", "source_uri", "status", "created_at",
                       "updated_at", "config", "versions", "error", "writer"})
GIVABLE = tuple(name for name in RUNS.schema.names if name not in NOT_GIVEN)
# Columns the marts group by: when neither the source nor a flag says them, the summary says so.
EXPECTED = ("dataset", "model", "approach", "temperature", "seed", "n")
GIVEN = "given (--meta)"


def parse_given(items: Iterable[str], shorthands: dict[str, Any] | None = None) -> dict[str, Any]:
    """`["temperature=0.8", "seed=42"]` (plus shorthand flags such as --model) as typed runs values."""
    given: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise SourceError("--meta", f"{item!r} is not KEY=VALUE (e.g. --meta temperature=0.8)")
        if key not in GIVABLE:
            raise SourceError("--meta", f"{key!r} is not a runs column one can give; one of: {', '.join(GIVABLE)}")
        given[key] = _typed(key, text.strip())
    for key, value in (shorthands or {}).items():
        if value is None:
            continue
        if key in given and given[key] != value:
            raise SourceError("--meta", f"--{key.replace('_', '-')} {value!r} and --meta {key}={given[key]!r} disagree")
        given[key] = value
    return given


def _typed(key: str, text: str) -> Any:
    kind = RUNS.schema.field(key).type
    try:
        if pa.types.is_list(kind):
            return [float(v) for v in text.split(",") if v.strip()]
        if pa.types.is_floating(kind):
            value = float(text)
            if not math.isfinite(value):
                raise ValueError(text)
            return value
        if pa.types.is_integer(kind):
            return int(text)
    except ValueError:
        what = "comma-separated numbers" if pa.types.is_list(kind) else "a number" if pa.types.is_floating(kind) \
            else "an integer"
        raise SourceError("--meta", f"{key}={text!r}: expected {what}") from None
    return text


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def apply_given(run: RunData, given: dict[str, Any], source: str) -> None:
    """Merge the user's values into `run.meta` in place (see the module docstring)."""
    meta, provenance = run.meta, run.provenance
    for key, value in given.items():
        said = meta.get(key)
        if said is None or said == [] or said == "unknown":
            pass
        elif _same(said, value):
            if provenance.get(key, GIVEN) != GIVEN:
                provenance[key] = f"{provenance[key]}; {GIVEN} agrees"
            continue
        elif key in run.guessed:
            run.warnings.append(f"{key}: given {value!r} replaces {said!r} ({provenance.get(key, 'guessed')})")
        else:
            where = provenance.get(key, "the source")
            raise SourceError(source, f"--meta {key}={value!r} contradicts {where}, which says {said!r}; "
                                      "drop the flag, or ingest a corrected source", field=key)
        meta[key] = value
        provenance[key] = GIVEN
        run.guessed.discard(key)
    for key in EXPECTED:
        if meta.get(key) is not None and key not in provenance:
            provenance[key] = "source"


def missing_warning(run: RunData) -> str | None:
    """One line naming the expected columns left null, and the flag that sets each."""
    mixed = bool(run.meta.get("temperatures")) and len(run.meta["temperatures"]) > 1  # HNC: no one temperature
    missing = [key for key in EXPECTED if run.meta.get(key) is None and not (key == "temperature" and mixed)]
    if not missing:
        return None
    flags = " ".join(f"--meta {key}=…" for key in missing)
    return f"not stated by the source, left null: {', '.join(missing)} (set with {flags})"


def record_provenance(run: RunData) -> None:
    """Keep where each column came from in `runs.config` (a JSON object)."""
    if not run.provenance:
        return
    config = run.meta.get("config")
    if config is None:
        config = {}
    elif not isinstance(config, dict):
        config = {"source_config": config}
    config["provenance"] = dict(sorted(run.provenance.items()))
    if run.guessed:
        config["guessed"] = sorted(run.guessed)
    run.meta["config"] = config

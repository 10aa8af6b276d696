"""Query results as CSV and JSON text, nested values included.

Arrow's and polars' CSV writers refuse list, struct and map columns (`lake.runs`,
`lake.token_traces` hold them), so CSV writes each nested value as one JSON text cell; JSON keeps
it nested. Both encode a value the same way: non-finite floats become null (JSON has no NaN),
bytes become hex, dates, times, decimals and other scalars their text.
"""

from __future__ import annotations

import json
import math
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv


def json_ready(value: Any) -> Any:
    """`value` (from `to_pylist`) as plain JSON data."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, tuple) and len(value) == 2:  # a map entry (key, value)
        return [json_ready(value[0]), json_ready(value[1])]
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def _dumps(value: Any, indent: int | None = None) -> str:
    return json.dumps(json_ready(value), indent=indent, allow_nan=False, ensure_ascii=False)


def json_text(table: pa.Table, indent: int | None = 1) -> str:
    """The rows of `table` as a JSON array of objects, nested columns as nested JSON."""
    return _dumps(table.to_pylist(), indent)


def _is_nested(kind: pa.DataType) -> bool:
    return pa.types.is_nested(kind) or (pa.types.is_dictionary(kind) and pa.types.is_nested(kind.value_type))


def flat_table(table: pa.Table) -> pa.Table:
    """`table` with every list, struct or map column replaced by its values as JSON text."""
    for index, field in enumerate(table.schema):
        if _is_nested(field.type):
            cells = [None if value is None else _dumps(value) for value in table.column(index).to_pylist()]
            table = table.set_column(index, pa.field(field.name, pa.string()), pa.array(cells, pa.string()))
    return table


def write_csv(table: pa.Table, sink: BinaryIO | pa.NativeFile) -> None:
    """`table` as CSV with a header row; nested values as JSON text."""
    pacsv.write_csv(flat_table(table), sink)


def csv_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    write_csv(table, sink)
    return sink.getvalue().to_pybytes()

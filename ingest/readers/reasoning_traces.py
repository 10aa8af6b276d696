"""Reasoning-trace results JSON (`visualize_reasoning_traces.py`) and its embeddings .npy.

The results: a JSON list of items, or {"results": [...], "metadata": {...}}. Keys read:
  item: query (string, required), full_output (string, required), reasoning (string, optional),
        final_answer (string, optional), embedding (list of numbers, optional)
  metadata (optional): model_name, embedding_model
The embeddings: `--embeddings`, else the first that exists beside the JSON of `<stem>_embeddings.npy`,
`<stem without _results>_embeddings.npy` and `<model>_embeddings.npy` (the tool writes
`{name}_results.json` and `{name}_embeddings.npy`); without one, the items' own `embedding` lists.
The .npy is a 2-D numeric array with one row per item, in item order.

Rows:
  runs         name = file stem, model = --model, else metadata model_name, else the stem without
               `_results`; n = 1, approach 'sampling'
  problems     one per distinct query (id from its text): dataset = --dataset, else 'reasoning-traces'
               (with a warning)
  completions  sample_idx 0, text = full_output
  embeddings   embedding_model = options' embedding_model, else metadata embedding_model, else the
               tool's default 'sentence-transformers/all-MiniLM-L6-v2' (with a warning); vector
               (float32), reasoning_text = reasoning, final_answer_text = final_answer

Bad input (shared policy, `jsonio`): unreadable JSON and wrong types are errors naming the file,
the 0-based item row and the field; an unreadable .npy, or one whose row count differs from the
number of items, is an error naming both files and both counts; a vector holding NaN or inf is
skipped (counted) and its completion kept; a repeated query keeps its first item and skips the later
ones with their vectors (counted under DUPLICATE).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ingest.readers.base import RunData, RunListing, SourceError
from ingest.readers.jsonio import DUPLICATE, Place, content_hash, head_keys, kind_of, load_json, problems_table
from warehouse.problems import problem_id

NAME = "reasoning-traces"
FALLBACK_DATASET = "reasoning-traces"
DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
NON_FINITE = "embedding vectors holding NaN or inf"


def _items(path: Path) -> tuple[list, dict]:
    doc = load_json(path)
    place = Place(str(path))
    if isinstance(doc, dict):
        return place.get(doc, "results", "list"), place.get(doc, "metadata", "object", required=False) or {}
    if not isinstance(doc, list):
        raise place.error(f"expected a list of results, got {kind_of(doc)}")
    return doc, {}


def _npy_path(path: Path, model: str | None, options: dict[str, Any]) -> Path | None:
    if options.get("embeddings"):
        return Path(options["embeddings"])
    stems = [path.stem, path.stem.removesuffix("_results")] + ([model.split("/")[-1]] if model else [])
    return next((p for p in (path.with_name(f"{s}_embeddings.npy") for s in stems) if p.is_file()), None)


def _npy_rows(npy: Path, path: Path, count: int) -> np.ndarray:
    try:
        array = np.load(npy, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise SourceError(npy, f"not a readable .npy array (truncated?): {exc}") from None
    if array.ndim != 2 or array.dtype.kind not in "fiu":
        raise SourceError(npy, f"expected a 2-D numeric array, got shape {array.shape} of {array.dtype}")
    if len(array) != count:
        raise SourceError(npy, f"has {len(array)} rows but {path} has {count} items; they must match one to one")
    return array


def _item_vectors(path: Path, items: list) -> list[list[float] | None]:
    vectors, dim = [], None
    for row, item in enumerate(items):
        place = Place(str(path), row=row)
        vector = place.items(item, "embedding", "number", required=False)
        if vector is not None and not vector:
            raise place.error("is empty", "embedding")
        if vector is not None and dim is not None and len(vector) != dim:
            raise place.error(f"has {len(vector)} numbers, earlier items {dim}", "embedding")
        dim = dim or (vector and len(vector))
        vectors.append(vector)
    return vectors


def _vector_column(vectors: list[np.ndarray]) -> pa.Array:
    """Equal-length float32 vectors as one Arrow list column, without a trip through Python floats."""
    offsets = np.arange(len(vectors) + 1, dtype=np.int32) * len(vectors[0])
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(np.concatenate(vectors)))


class ReasoningTracesReader:
    name = NAME
    description = "reasoning-trace results JSON (+ --embeddings .npy)"

    def sniff(self, source: str) -> bool:
        path = Path(source)
        return path.suffix == ".json" and path.is_file() and {"query", "full_output"} <= head_keys(path)

    def list_runs(self, source: str, options: dict[str, Any]) -> list[RunListing]:
        path = Path(source)
        return [RunListing(source, path.stem, {"dataset": options.get("dataset"), "model": options.get("model"),
                                               "embeddings": options.get("embeddings")})]

    def read(self, source: str, options: dict[str, Any]) -> list[RunData]:
        path = Path(source)
        items, meta = _items(path)
        meta_place = Place(str(path))
        stated = meta_place.get(meta, "model_name", "text", required=False) or options.get("model")
        model = stated or path.stem.removesuffix("_results")
        named_model = (options.get("embedding_model")
                       or meta_place.get(meta, "embedding_model", "text", required=False))
        embedding_model = named_model or DEFAULT_EMBEDDING_MODEL
        dataset = options.get("dataset") or FALLBACK_DATASET
        warnings = [] if options.get("dataset") else [f"no --dataset given; problems filed under {dataset!r}"]
        for row, item in enumerate(items):
            if not isinstance(item, dict):
                raise Place(str(path), row=row).error(f"expected an object, got {kind_of(item)}")
        npy = _npy_path(path, model, options)
        vectors = _npy_rows(npy, path, len(items)) if npy else _item_vectors(path, items)

        skipped: Counter = Counter()
        problems, completions, embedded, kept = [], [], [], []
        seen: set[str] = set()
        for row, (item, vector) in enumerate(zip(items, vectors, strict=True)):
            place = Place(str(path), row=row)
            query = place.get(item, "query", "text")
            pid = problem_id(dataset, None, query)
            text = place.get(item, "full_output", "text")
            traces = {"reasoning_text": place.get(item, "reasoning", "text", required=False),
                      "final_answer_text": place.get(item, "final_answer", "text", required=False)}
            if pid in seen:
                skipped[DUPLICATE] += 1
                continue
            seen.add(pid)
            problems.append({"problem_id": pid, "dataset": dataset, "problem": query})
            completions.append({"problem_id": pid, "sample_idx": 0, "text": text})
            if vector is None:
                continue
            with np.errstate(over="ignore"):  # beyond float32 becomes inf, skipped just below
                vector = np.asarray(vector, dtype=np.float32)
            if not np.isfinite(vector).all():
                skipped[NON_FINITE] += 1
                continue
            embedded.append({"problem_id": pid, "sample_idx": 0, "embedding_model": embedding_model, **traces})
            kept.append(vector)
        if not kept and not skipped[NON_FINITE]:
            warnings.append("no embeddings found (no .npy beside the results, no item 'embedding')")
        elif not named_model:
            warnings.append(f"embedding model not named; assuming the tool's default {embedding_model}")

        identity = {"sha256": content_hash(path), "embeddings_sha256": content_hash(npy) if npy else None,
                    "dataset": dataset, "model": model, "embedding_model": embedding_model}
        run_meta = {"name": path.stem, "source_uri": str(path.resolve()), "dataset": dataset, "model": model,
                    "n": 1, "approach": "sampling",
                    "config": {"results_file": path.name, "embeddings_file": npy.name if npy else None,
                               "embedding_model": embedding_model, **meta}}

        def batches():
            yield "completions", completions
            if kept:
                yield "embeddings", pa.Table.from_pylist(embedded).append_column("vector", _vector_column(kept))

        return [RunData(identity=identity, meta=run_meta, problems=problems_table(problems), batches=batches,
                        skipped=skipped, warnings=warnings, guessed=set() if stated else {"model"},
                        provenance={} if stated else {"model": "file name"})]


READER = ReasoningTracesReader()

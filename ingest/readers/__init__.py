"""The formats `ttsw ingest` reads, and how a source's format is found.

Each entry names a module holding `READER`, an object of the `Reader` protocol (`base.py`). Modules
import only when needed, so listing formats stays cheap. Sniffing goes down the list in order, most
specific first; `--format` skips it.

A folder that holds several formats (say, a checkout of results from several tools) is split by
`route`: a folder goes whole to the reader that claims it when no part of it belongs to another
format; otherwise each entry is routed on its own, and files no reader knows are passed over.
"""

from __future__ import annotations

import importlib

from ingest.readers.base import Reader, SourceError

FORMATS: dict[str, str] = {
    "inspect": "ingest.readers.inspect_log",
    "lm-eval": "ingest.readers.lm_eval",
    "rank-logs": "ingest.readers.rank_logs",
    "topk-jsonl": "ingest.readers.topk_jsonl",
    "bon-parquet": "ingest.readers.bon_parquet",
    "prm-json": "ingest.readers.prm_json",
    "reasoning-traces": "ingest.readers.reasoning_traces",
    "qwen-math-eval": "ingest.readers.qwen_math",
    "search-and-learn": "ingest.readers.search_and_learn",
}


def get_reader(name: str) -> Reader:
    try:
        module = FORMATS[name]
    except KeyError:
        raise SourceError(name, f"unknown format; formats: {', '.join(FORMATS)}") from None
    return importlib.import_module(module).READER


def available() -> list[Reader]:
    """The readers whose modules exist in this installation, in sniffing order."""
    readers = []
    for name in FORMATS:
        try:
            readers.append(get_reader(name))
        except ModuleNotFoundError as exc:
            if exc.name != FORMATS[name]:
                raise
    return readers


def detect(source: str) -> Reader:
    """The reader of the first format whose sniff accepts `source`; else an error saying what the source
    looks like and what each reader looked for."""
    from pathlib import Path

    if not source.startswith("hf://") and not Path(source).exists():
        raise SourceError(source, "no such file or folder")
    readers = available()
    for reader in readers:
        if reader.sniff(source):
            return reader
    looked = "; ".join(f"{r.name}: {r.description}" for r in readers)
    raise SourceError(source, f"cannot tell its format ({_what_it_is(source)}). Looked for — {looked}. "
                              "Name the format with --format NAME if it is one of these")


def route(source: str) -> tuple[list[tuple[str, Reader]], list[str]]:
    """The (source, reader) pairs `source` splits into, and the files passed over as no known format.

    A file, a Hub address or a folder one format claims whole is one pair. A folder whose entries
    belong to different formats is split entry by entry (hidden entries are ignored). A source
    nothing in which is known raises `detect`'s error."""
    from pathlib import Path

    path = Path(source)
    if source.startswith("hf://") or not path.is_dir():
        return [(source, detect(source))], []
    readers = available()
    pairs: list[tuple[str, Reader]] = []
    passed_over: list[str] = []

    sniffed: dict[Path, list[Reader]] = {}  # each entry is sniffed once, however deep the walk goes

    def claimants(entry: Path) -> list[Reader]:
        if entry not in sniffed:
            sniffed[entry] = [r for r in readers if r.sniff(str(entry))]
        return sniffed[entry]

    def walk(folder: Path) -> None:
        entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
        owner = next(iter(claimants(folder)), None)
        if owner is not None and all(r is owner for e in entries for r in claimants(e)):
            pairs.append((str(folder), owner))
            return
        for entry in entries:
            if entry.is_dir():
                walk(entry)
            elif claimants(entry):
                pairs.append((str(entry), claimants(entry)[0]))
            else:
                passed_over.append(str(entry))

    walk(path)
    if not pairs:
        detect(source)  # raises, saying what the folder holds and what each reader looked for
    return pairs, passed_over


def _what_it_is(source: str) -> str:
    from collections import Counter
    from pathlib import Path

    path = Path(source)
    if source.startswith("hf://"):
        return "a Hub address"
    if path.is_dir():
        kinds = Counter(p.suffix or p.name for p in path.rglob("*") if p.is_file())
        shown = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common(4))
        return f"a folder of {sum(kinds.values())} files: {shown}" if kinds else "an empty folder"
    return f"a {path.suffix or 'suffix-less'} file of {path.stat().st_size:,} bytes"

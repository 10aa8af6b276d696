"""Parameters of a local search-and-learn file whose name is no config name.

search-and-learn, when it does not push to the Hub, writes `data/{model_path}/{approach}_completions.jsonl`
(`data/meta-llama/Llama-3.2-1B-Instruct/best_of_n_completions.jsonl`); forks write names of their own
(`data/best_of_n/hugging-quantsMeta-Llama-3.1-8B-Instruct-AWQ-INT4-_n16_b0.1_q100.jsonl`,
`beam_search_n-4_completions-10.jsonl`). Such a name says what it says:

- the approach: `best_of_n`, `beam_search` or `dvts` in the file name, else in a folder name;
- keyed numbers in the file name: `n16` / `n-4` (samples), `T-0.8` / `t0.8` / `temp0.8`, `top_p1.0`,
  `seed42`; unkeyed or unknown tokens (`b0.1`, `q100`) are kept in runs.config, not interpreted;
- the model: a model name in the folders below `data/` or in the file name (`model_names`), a guess.

The sample count is finally what the file's own rows hold (`completions`), see `assemble`/`plan`. What
no part of the name says stays null; the runner names it in one warning line with the flag that sets it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath

from ingest.readers.model_names import model_in_path
from ingest.readers.search_and_learn.config_names import ConfigName

_APPROACHES = (("best_of_n", "bon"), ("best-of-n", "bon"), ("beam_search", "beam_search"),
               ("beam-search", "beam_search"), ("dvts", "dvts"))
_NUM = r"\d+(?:\.\d+)?"
_KEYED = {  # runs column -> (pattern on the file name, type)
    "n": (re.compile(r"(?:^|[_-])n[-_]?(\d+)(?=[_-]|$)"), int),
    "temperature": (re.compile(rf"(?:^|[_-])(?:T|t|temp|temperature)[-_]?({_NUM})(?=[_-]|$)"), float),
    "top_p": (re.compile(rf"(?:^|[_-])top_?p[-_]?({_NUM})(?=[_-]|$)"), float),
    "seed": (re.compile(r"(?:^|[_-])seed[-_]?(\d+)(?=[_-]|$)"), int),
}
# Where the parameters start in a fork's name: the model name before it must not swallow them.
_PARAMS_START = re.compile(r"[-_]*(?:_(?:n|q|b|t|T|seed|temp|top_p)[-_]?\d|_completions)")


@dataclass
class FileName:
    """What a file's name and folders say, with the origin of each value."""

    name: ConfigName
    approach: str | None
    model: str | None
    provenance: dict[str, str] = field(default_factory=dict)
    guessed: set[str] = field(default_factory=set)
    unparsed: str | None = None


def _approach(path: PurePath) -> tuple[str | None, str | None]:
    for text, where in [(path.stem.lower(), "file name")] + [(p.lower(), "folder name") for p in reversed(path.parent.parts)]:
        for token, approach in _APPROACHES:
            if token in text:
                return approach, where
    return None, None


def from_file_name(stem: str, path: PurePath | None) -> FileName:
    """The parameters in a local file's name (and folders, when `path` is given)."""
    values, provenance = {}, {}
    for column, (pattern, kind) in _KEYED.items():
        match = pattern.search(stem)
        if match:
            values[column] = kind(match[1])
            provenance[column] = f"file name ({match[0].strip('_-')})"
    approach, where = _approach(path if path is not None else PurePath(stem))
    if approach:
        provenance["approach"] = where
    cut = _PARAMS_START.search(stem)
    model = model_in_path(path, stem[:cut.start()] if cut else stem) if path is not None else None
    guessed = set()
    if model:
        provenance["model"] = "guessed from the folder and file names"
        guessed.add("model")
    name = ConfigName(raw=stem, base=stem, temperature=values.get("temperature"), top_p=values.get("top_p"),
                      n=values.get("n"), seed=values.get("seed"))
    return FileName(name, approach, model, provenance, guessed, unparsed=stem)

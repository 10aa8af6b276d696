"""What discovery finds in a source: its configs, named, with their files resolved only when read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ingest.readers.search_and_learn.files import DataFile


@dataclass(frozen=True)
class FoundConfig:
    name: str                                  # the config (subset or branch) name as stored
    where: str                                 # config, branch, file, folder, save_to_disk
    files: Callable[[], list[DataFile]]        # its data files, in shard order (may ask the Hub)
    revision: str | None = None                # Hub revision it was read at
    path: Path | None = None                   # a local file or folder: its names may say what the config name does not


@dataclass
class Found:
    uri: str                                   # runs.source_uri
    repo: str                                  # the name whose prefix/suffix says strategy, model, approach
    identity: dict                             # what identifies the source itself (repo, or resolved path)
    configs: list[FoundConfig] = field(default_factory=list)

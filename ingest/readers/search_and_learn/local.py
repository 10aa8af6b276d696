"""Local copies of search-and-learn results, found by layout:

- a dataset repo folder as `huggingface-cli download` leaves it: README.md whose front matter lists
  `configs:` (config_name + data_files), or a single config under `data/`;
- a `save_to_disk` folder: `dataset_dict.json` (its train split, else every split) or `state.json`;
- a folder of per-config subfolders named after their configs;
- plain Parquet / JSONL exports: one file is one config, named by --config or the file stem;
- search-and-learn's own local output, `data/{org}/{model}/{approach}_completions.jsonl`, and forks'
  files under names of their own, at any depth: each file is one config (`file_names` reads its name).

A folder or file that holds a single config without saying its name takes it from --config (when one
is given) or its own name.
"""

from __future__ import annotations

from pathlib import Path

from ingest.readers.base import SourceError
from ingest.readers.jsonio import Place, kind_of, load_json
from ingest.readers.search_and_learn import layout
from ingest.readers.search_and_learn.config_names import ConfigNameError, parse
from ingest.readers.search_and_learn.files import DataFile, local_file
from ingest.readers.search_and_learn.found import Found, FoundConfig

_SKIP_DIRS = {".cache", ".git", ".huggingface"}


def discover(path: Path, options: dict) -> Found:
    path = path.resolve()
    if not path.exists():
        raise SourceError(path, "no such file or folder")
    if path.is_file():
        if not layout.is_data_file(path.name):
            raise SourceError(path, f"not a data file ({', '.join(layout.DATA_SUFFIXES)})")
        name = _single_name(path.stem, options)
        return Found(str(path), path.parent.name, {"path": str(path)},
                     [FoundConfig(name, "file", lambda: [local_file(path)], path=path)])
    return Found(str(path), _repo_name(path), {"path": str(path)}, _folder_configs(path, options))


def _single_name(own: str, options: dict) -> str:
    configs = options.get("configs") or []
    return configs[0] if len(configs) == 1 else own


def _repo_name(folder: Path) -> str:
    """A folder named after its config sits in the repo's folder; otherwise it is the repo's copy."""
    return folder.parent.name if _parses(folder.name) else folder.name


def _parses(name: str) -> bool:
    try:
        parse(name)
    except ConfigNameError:
        return False
    return True


def _relative_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and not _SKIP_DIRS & set(p.relative_to(folder).parts))


def _files(folder: Path, relative: list[str]) -> list[DataFile]:
    return [local_file(folder / r) for r in relative]


def _folder_configs(folder: Path, options: dict) -> list[FoundConfig]:
    readme = folder / "README.md"
    listed = layout.front_matter_configs(readme.read_text(encoding="utf-8", errors="replace")) if readme.is_file() else {}
    if listed:
        paths = _relative_files(folder)
        return [FoundConfig(name, "config", lambda p=patterns: _files(folder, layout.match(p, paths)))
                for name, patterns in listed.items()]
    saved = _saved_files(folder)
    if saved is not None:
        return [FoundConfig(_single_name(folder.name, options), "save_to_disk", lambda: saved)]
    subfolders = [d for d in sorted(folder.iterdir()) if d.is_dir() and _parses(d.name)]
    if subfolders:
        return [FoundConfig(d.name, "folder", lambda d=d: _subfolder_files(d)) for d in subfolders]
    paths = _relative_files(folder)
    shards = [p for p in paths if p.startswith("data/") and p.count("/") == 1 and layout.is_data_file(p)]
    if shards:  # a Hub repo's one default config: data/train-0000x-of-0000n.parquet
        return [FoundConfig(_single_name(folder.name, options), "folder",
                            lambda: _files(folder, layout.default_files(paths)), path=folder)]
    loose = [p for p in paths if layout.is_data_file(p)]
    if len(loose) == 1:
        return [FoundConfig(_single_name(Path(loose[0]).stem, options), "file", lambda: _files(folder, loose),
                            path=folder / loose[0])]
    if loose:
        stems = [Path(p).stem for p in loose]
        unique = len(set(stems)) == len(stems)  # else two folders' best_of_n_completions would be one config
        return [FoundConfig(Path(p).stem if unique else p.rsplit(".", 1)[0], "file",
                            lambda p=p: _files(folder, [p]), path=folder / p) for p in loose]
    raise SourceError(folder, "no search-and-learn layout here: expected a README.md listing configs, data/ files, "
                              "a save_to_disk folder (dataset_dict.json / state.json), config-named subfolders, "
                              "or Parquet/JSONL files")


def _subfolder_files(folder: Path) -> list[DataFile]:
    saved = _saved_files(folder)
    return saved if saved is not None else _files(folder, layout.default_files(_relative_files(folder)))


def _saved_files(folder: Path) -> list[DataFile] | None:
    """The Arrow files of a `save_to_disk` folder (a DatasetDict's train split, else all splits); None if not one."""
    if (folder / "state.json").is_file():
        return _state_files(folder)
    manifest = folder / "dataset_dict.json"
    if not manifest.is_file():
        return None
    document = load_json(manifest)
    place = Place(str(manifest))
    if not isinstance(document, dict):
        raise place.error(f"not a dataset_dict.json: expected an object with 'splits', got {kind_of(document)}")
    splits = place.items(document, "splits", "text")
    if not splits:
        raise place.error("not a dataset_dict.json: lists no splits", "splits")
    chosen = ["train"] if "train" in splits else splits
    return [file for split in chosen for file in _state_files(folder / split)]


def _state_files(folder: Path) -> list[DataFile]:
    state = folder / "state.json"
    if not state.is_file():
        raise SourceError(state, "missing: a save_to_disk split folder holds a state.json (saved incompletely?)")
    document = load_json(state)
    if not isinstance(document, dict):
        raise Place(str(state)).error(f"not a save_to_disk state.json: expected an object, got {kind_of(document)}")
    entries = Place(str(state)).items(document, "_data_files", "object")
    names = [Place(str(state), row=i).get(entry, "filename", "text") for i, entry in enumerate(entries)]
    bad = next((n for n in names if Path(n).name != n or n in ("", ".", "..")), None)
    if bad is not None:
        raise SourceError(state, f"a data file name must be a plain file name, got {bad!r}", field="_data_files")
    return [local_file(folder / name) for name in names]

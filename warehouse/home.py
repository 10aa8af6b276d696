"""The warehouse home: one folder holding the lake, the DuckDB file and the serving exports.

`TTSW_HOME` (or `--home`) points at it; the default is `./ttsw_home`. Everything below the
home is derived from the lake and can be rebuilt with `ttsw build`, except the lake itself.

serving/ holds one folder per published build, `serving/<build id>/` (the marts and their
`manifest.json`), and the pointer `serving/CURRENT` naming the current one; `ttsw build`
writes the pointer last, so a reader that follows it never sees half a build. A home built
before snapshots keeps its marts directly in serving/, which reads as the current snapshot
while there is no pointer. Nothing in the home stores its absolute path, so a copied or
moved home reads its own lake.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from warehouse.errors import HomeError

DEFAULT_HOME = "ttsw_home"
HOME_ENV = "TTSW_HOME"
SERVING_POINTER = "CURRENT"


@dataclass(frozen=True)
class Home:
    root: Path

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def db_path(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def build_root(self) -> Path:
        """Where `ttsw build` writes the next warehouse file, one folder per build in progress."""
        return self.root / "build"

    @property
    def serving_root(self) -> Path:
        """serving/ itself: the snapshots, the pointer, or a pre-snapshot home's marts."""
        return self.root / "serving"

    @property
    def serving_pointer(self) -> Path:
        return self.serving_root / SERVING_POINTER

    def serving_id(self) -> str | None:
        """The current snapshot's build id (None: no build yet, or a pre-snapshot home)."""
        try:
            name = self.serving_pointer.read_text().strip()
        except FileNotFoundError:
            return None
        return name or None

    def snapshot_dir(self, build_id: str | None) -> Path:
        """The folder of the snapshot `build_id`; serving/ itself for None (pre-snapshot layout)."""
        return self.serving_root / build_id if build_id else self.serving_root

    @property
    def serving(self) -> Path:
        """The current snapshot's folder, where `<mart>.parquet` and `manifest.json` are read.

        Read the pointer once per unit of work (or use `serving_id` and `snapshot_dir`): a build
        may publish a new snapshot between two reads."""
        return self.snapshot_dir(self.serving_id())

    def table_dir(self, table: str) -> Path:
        return self.lake / table

    def exists(self) -> bool:
        return self.lake.is_dir()

    def require_lake(self) -> "Home":
        """Fail clearly when there is no lake yet (a typo in --home, a fresh folder)."""
        if not self.lake.is_dir():
            raise HomeError(
                f"no warehouse at {self.root}: {self.lake} does not exist. "
                "Write data first (`ttsw simulate`, `ttsw demo --no-serve`) or pass --home / set TTSW_HOME."
            )
        return self

    def ensure_writable(self) -> "Home":
        """Create the home's folders if needed and check that we can write there."""
        if self.root.exists() and not self.root.is_dir():
            raise HomeError(f"warehouse home {self.root} exists but is not a directory")
        try:
            for folder in (self.root, self.lake, self.serving_root):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HomeError(f"cannot create warehouse home {self.root}: {exc.strerror or exc}") from exc
        if not os.access(self.lake, os.W_OK | os.X_OK):
            raise HomeError(f"warehouse home {self.root} is not writable (check its permissions)")
        return self


def resolve_home(path: str | os.PathLike[str] | None = None) -> Home:
    """The home from an explicit path, else $TTSW_HOME, else ./ttsw_home; always absolute."""
    chosen = path or os.environ.get(HOME_ENV) or DEFAULT_HOME
    return Home(Path(chosen).expanduser().resolve())

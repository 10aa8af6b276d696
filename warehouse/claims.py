"""Run claims: at most one writer per run (or per shard of a run), on any machine sharing the home.

A claim is a small file `<home>/claims/<key>.claim` created exclusively: its content is written to
a private temporary file first and then hard-linked into place, and a hard link fails when the
name exists, so the create is atomic and the file is never seen half-written (the same holds on
NFS, and an object store's conditional PUT offers the same operation). The holder records
`host:pid`, the process's start time (so a recycled pid is not taken for the holder) and a token.

A claim whose holder is gone (same host, process not running) is stale and is taken over: it is
renamed to a unique tombstone name, which only one taker can do, and checked to be the stale one
before the taker claims afresh. A holder on another host cannot be checked from here: the claim
is reported with its holder and the path to remove once that process is known to be gone.
A claim is released when its holder leaves the `claim` block, however it leaves it; a process
killed with SIGKILL leaves a stale claim, which the next writer takes over.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from warehouse.errors import WarehouseBusy
from warehouse.home import Home

CLAIMS_DIR = "claims"
_POLL_SECONDS = (0.05, 0.5)  # first and longest pause between tries while waiting


@dataclass(frozen=True)
class Claim:
    """A claim this process holds."""

    path: Path
    content: str


def claim_path(home: Home, key: str) -> Path:
    return home.root / CLAIMS_DIR / f"{key}.claim"


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a recycled pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _holder_record() -> dict[str, Any]:
    return {"writer": f"{socket.gethostname()}:{os.getpid()}", "start": _process_start(os.getpid()),
            "token": uuid.uuid4().hex, "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv)[:200]}


def _parse(content: str) -> dict[str, Any]:
    try:
        record = json.loads(content)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def holder_alive(record: dict[str, Any]) -> bool | None:
    """True or False for a holder on this host; None when it runs elsewhere (cannot be told)."""
    host, _, pid = str(record.get("writer") or "").rpartition(":")
    if host != socket.gethostname():
        return None
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    started = record.get("start")
    return started is None or started == _process_start(int(pid))


def _try_create(path: Path, content: str) -> bool:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(content)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink()


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _take_over(path: Path, stale: str) -> None:
    """Remove the stale claim `stale` from `path`, unless another taker got there first."""
    tomb = path.with_name(f".{path.name}.{uuid.uuid4().hex}.stale")
    try:
        os.rename(path, tomb)
    except FileNotFoundError:
        return
    if tomb.read_text() != stale:  # a fresh claim replaced the stale one since we read it: put it back
        try:
            os.link(tomb, path)
        except FileExistsError:
            pass
    tomb.unlink()


def _busy(label: str, path: Path, record: dict[str, Any]) -> WarehouseBusy:
    writer = record.get("writer") or "another process"
    elsewhere = holder_alive(record) is None
    return WarehouseBusy(
        f"{label} is being written by {writer} (since {record.get('since', '?')}): wait for it to finish"
        + (f", or, if that process is gone, remove {path} and run this again" if elsewhere else ", then run this again"))


def acquire(home: Home, key: str, *, label: str | None = None, wait_seconds: float = 0.0,
            on_wait: Callable[[str], None] | None = None) -> Claim:
    """Claim `key` for this process: at once, or within `wait_seconds` while a live holder has it
    (`on_wait` hears, once, who is being waited for); else `WarehouseBusy` naming the holder."""
    path = claim_path(home, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    label = label or key
    content = json.dumps(_holder_record(), sort_keys=True)
    deadline = time.monotonic() + wait_seconds
    pause, told = _POLL_SECONDS[0], False
    while True:
        if _try_create(path, content):
            return Claim(path, content)
        held = _read(path)
        if held is None:
            continue  # released between our try and our read
        record = _parse(held)
        if record.get("writer") == f"{socket.gethostname()}:{os.getpid()}":
            raise WarehouseBusy(f"{label} is already being written by this process")
        if holder_alive(record) is False:
            _take_over(path, held)
            continue
        if time.monotonic() >= deadline:
            raise _busy(label, path, record)
        if on_wait is not None and not told:
            on_wait(f"waiting for {label}, being written by {record.get('writer') or 'another process'}")
            told = True
        time.sleep(pause)
        pause = min(pause * 2, _POLL_SECONDS[1])


def release(claim: Claim) -> None:
    """Remove the claim if it is still ours (a taker may have removed it after we were thought gone)."""
    if _read(claim.path) == claim.content:
        claim.path.unlink(missing_ok=True)


@contextmanager
def claim(home: Home, key: str, **options: Any) -> Iterator[Claim]:
    """Hold the claim on `key` for the block (see `acquire` for the options)."""
    held = acquire(home, key, **options)
    try:
        yield held
    finally:
        release(held)

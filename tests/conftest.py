"""Fixtures shared by every test: a fresh warehouse home and the bundled MATH-500 problems."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from warehouse.home import Home

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


@pytest.fixture
def home(tmp_path) -> Home:
    """An empty, writable warehouse home in a temporary folder."""
    return Home(tmp_path / "home").ensure_writable()


@pytest.fixture(scope="session")
def math500_table():
    from warehouse.problems import math500

    return math500()


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a headless-capable Chromium (installed with apt-get when missing)."""
    from browser import ensure_chromium

    return ensure_chromium()


@pytest.fixture(scope="session")
def tiny_demo_home(tmp_path_factory) -> Home:
    """A real warehouse, built once per session by `ttsw demo --preset tiny --no-serve`: simulated
    runs on 20 MATH-500 problems with every lake table the marts read, graded, dbt-built, exported.
    Read-only for tests: copy it before changing it."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("tiny_demo") / "home"
    proc = subprocess.run([sys.executable, "-m", "ttsw", "--home", str(root), "demo", "--preset", "tiny",
                           "--no-serve"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return Home(root)


@pytest.fixture(scope="session")
def real_data() -> Path:
    """`../shared/data/real/`: real outputs of real tools, as their authors committed them. Read-only.
    Under CI a missing folder fails the test; elsewhere it skips (a clone without shared/ beside it)."""
    root = Path(os.environ.get("TTSW_REAL_DATA", REAL_DATA))
    if not (root / "README.md").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"real data missing: {root} (CI needs ../shared/data/real beside the clone)")
        pytest.skip(f"real data not found at {root}")
    return root

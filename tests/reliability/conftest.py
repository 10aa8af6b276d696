"""The reliability suite's shared helpers live in `clirun.py` (run `ttsw` in-process or as a child,
read a home's lake views); this file only puts them in reach as fixtures."""

from __future__ import annotations

import pytest

from clirun import lake_rows, ttsw_child, ttsw_in_process


@pytest.fixture
def ttsw():
    """`ttsw(home, *args)`: run the command line in-process; a `Ran` (code, stdout, stderr)."""
    return ttsw_in_process


__all__ = ["lake_rows", "ttsw_child", "ttsw_in_process"]

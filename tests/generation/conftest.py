"""Fixtures of the generation tests: the tiny model (tests/tiny_model.py), built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tiny_model import build_tiny_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """Folder of the tiny model and its tokenizer (loadable with from_pretrained)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model") / "model")


@pytest.fixture(scope="session")
def hf_backend(tiny_model):
    """One loaded hf backend on the tiny model, on CPU, shared by the tests that only generate."""
    from generation.backends.hf import HFBackend

    backend = HFBackend(model=str(tiny_model), device="cpu", batch_size=8)
    yield backend
    backend.close()



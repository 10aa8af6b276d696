"""The optional torchtune engine of the topk job: a model, checkpointer and tokenizer from a torchtune YAML.

The YAML is the one the seed's calibration_grid/get_logit_values.py reads: its `model`,
`checkpointer` and `tokenizer` entries are `_component_` nodes built with
torchtune.config.instantiate; the weights are checkpointer.load_checkpoint()["model"]. Other keys
(output_dir, ...) may be referenced by OmegaConf interpolation and are otherwise ignored.

torchtune 0.6.1 is unmaintained and imports only beside torchao 0.15.0, so it is no dependency
of any extra: it is imported here, and only when the engine is asked for. The YAML itself is read
and checked with PyYAML first, so a malformed file is reported with or without torchtune.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from generation.config import ConfigError

COMPONENTS = ("model", "checkpointer", "tokenizer")
INSTALL = "pip install torchtune==0.6.1 torchao==0.15.0"


def read_components(path: str) -> dict[str, Any]:
    """The YAML as a plain mapping, once each component is known to name its `_component_`."""
    import yaml

    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"--torchtune-config: {path} is not a file")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a torchtune config must be a mapping with {', '.join(COMPONENTS)}")
    for name in COMPONENTS:
        node = data.get(name)
        if not isinstance(node, dict) or not node.get("_component_"):
            raise ConfigError(f"{path}: no {name!r} component (a mapping with _component_: dotted.path and its "
                              f"arguments); the topk engine needs {', '.join(COMPONENTS)}")
    return data


def _import_torchtune():
    try:
        from omegaconf import OmegaConf
        from torchtune import config, training
    except ImportError as exc:
        raise ConfigError(f"--engine torchtune: torchtune is not importable ({exc}); install it with "
                          f"`{INSTALL}`") from exc
    return config, training, OmegaConf


class TorchtuneEngine:
    """The tokenizer at once (planning encodes texts); the model only on `load`."""

    def __init__(self, path: str):
        self.components = read_components(path)
        self._config, self._training, omegaconf = _import_torchtune()
        self._cfg = omegaconf.create(self.components)
        self.tokenizer = self._config.instantiate(self._cfg.tokenizer)

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_bos=True, add_eos=False))

    def load(self, device, dtype: str) -> Callable:
        """forward(ids, mask) -> logits of the checkpoint's model on `device`.

        dtype 'auto' keeps the checkpoint's own floating dtype, as transformers' 'auto' does."""
        import torch

        state = self._config.instantiate(self._cfg.checkpointer).load_checkpoint()["model"]
        if dtype == "auto":
            dtype = next((str(t.dtype).removeprefix("torch.") for t in state.values()
                          if torch.is_tensor(t) and t.is_floating_point()), "float32")
        with self._training.set_default_dtype(getattr(torch, dtype)), torch.device(device):
            model = self._config.instantiate(self._cfg.model)
        model.load_state_dict(state)
        model.eval()

        def forward(ids, _mask):
            # No mask is passed: the model's own causal mask applies. The batch is right-padded, and
            # in a causal model a later (padding) position never changes an earlier position's logits.
            return model(ids.to(device))

        return forward

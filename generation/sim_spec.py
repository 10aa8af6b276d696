"""Simulation specs: one `SimSpec` per simulated run, grids of them, presets and YAML spec files.

A spec is everything that determines a simulated run's data; its `identity()` (with the simulator
version) is hashed into the run id, so simulating the same spec again finds the same run.

Besides completions and PRM scores, a spec decides what else its run logs, as a generation job
would: `prm_thresholds` (partial completions scored at those token thresholds too, DESIGN §6 PRM
reliability), `log_tokens` (token_traces and decode_events of every sample, as `--log-tokens`)
and `embed` (an embedding of every sample's reasoning trace). Approach `sampling` is plain
repeated sampling (no search); approach `teacher_forced` is the calibration run: no completions,
only `token_topk` rows of the model reading each problem's reference solution.

Temperature settings are written `0.8` (one temperature) or `0.4+0.8+1.2+1.6` (an HNC mixture,
equal ratios) or `0.4:0.75+1.2:0.25` (explicit ratios). In YAML a setting is a number, a list
(mixture, equal ratios) or `{temperatures: [...], ratios: [...]}`.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from generation.mixtures import block_counts
from warehouse.problems import MATH500
from warehouse.runs import derive_run_id

SIMULATOR_VERSION = 1
APPROACHES = ("bon", "beam_search", "dvts", "sampling", "teacher_forced")
SEARCHES = ("beam_search", "dvts")
TEACHER_FORCED = "teacher_forced"
TEXT_MODES = ("full", "brief")
PRM_MODEL = "Qwen/Qwen2.5-Math-PRM-7B"
MATH500_SIZE = 500
MODELS = ("Qwen/Qwen2.5-1.5B-Instruct", "Qwen/Qwen2.5-3B-Instruct", "meta-llama/Llama-3.2-1B-Instruct")
HNC_TEMPERATURES = (0.4, 0.8, 1.2, 1.6)
# search-and-learn defaults for the tree searches
SEARCH_PARAMS = {"beam_width": 4, "num_iterations": 40, "lookahead": 0}
# prm_reliability_analysis.md's default token thresholds
PRM_THRESHOLDS = (128, 256, 512, 1024, 1536, 2048)
# Fields added after simulator v1: left out of the identity while at their defaults, so the runs
# of specs that do not use them keep their ids (and their data: nothing else changed for them).
_LATER_FIELDS = {"prm_thresholds": (), "log_tokens": False, "embed": False}


@dataclass(frozen=True)
class SimSpec:
    """One simulated run on the first `problems` MATH-500 problems."""

    model: str
    approach: str = "bon"
    temperatures: tuple[float, ...] = (0.8,)
    temperature_ratios: tuple[float, ...] = field(default=())
    n: int = 64
    seed: int = 0
    problems: int = MATH500_SIZE
    top_p: float = 1.0
    max_tokens: int = 2048
    prm_model: str = PRM_MODEL
    prm: bool = True  # write prm_scores (the model still names the PRM that guided the search)
    text: str = "full"
    prm_thresholds: tuple[int, ...] = ()  # also score partial completions cut at these token counts
    log_tokens: bool = False  # token_traces and decode_events for every sample
    embed: bool = False  # an embedding of every sample's reasoning trace

    def __post_init__(self) -> None:
        if self.approach == TEACHER_FORCED:
            self._teacher_forced_defaults()
        temps = tuple(float(t) for t in self.temperatures)
        ratios = tuple(float(r) for r in self.temperature_ratios) or tuple(1.0 / len(temps) for _ in temps)
        if not temps or any(t <= 0 for t in temps):
            raise ValueError(f"temperatures must be positive, got {self.temperatures}")
        if len(ratios) != len(temps) or any(r <= 0 for r in ratios):
            raise ValueError(f"temperature_ratios {ratios} must be positive, one per temperature {temps}")
        total = sum(ratios)
        object.__setattr__(self, "temperatures", temps)
        object.__setattr__(self, "temperature_ratios", tuple(round(r / total, 6) for r in ratios))
        if self.approach not in APPROACHES:
            raise ValueError(f"approach {self.approach!r} is not simulated; use one of {', '.join(APPROACHES)}")
        if self.text not in TEXT_MODES:
            raise ValueError(f"text {self.text!r}: use one of {', '.join(TEXT_MODES)}")
        if not 1 <= self.problems <= MATH500_SIZE:
            raise ValueError(f"problems must be 1..{MATH500_SIZE}, got {self.problems}")
        if self.n < len(temps):
            raise ValueError(f"n={self.n} is smaller than the number of temperatures {len(temps)}")
        if self.max_tokens < 64:
            raise ValueError(f"max_tokens must be at least 64, got {self.max_tokens}")
        thresholds = tuple(sorted({int(t) for t in self.prm_thresholds}))
        if any(t < 1 for t in thresholds):
            raise ValueError(f"prm_thresholds are token counts (1 or more), got {list(self.prm_thresholds)}")
        if thresholds and not self.prm:
            raise ValueError("prm_thresholds need PRM scores: drop prm: false, or the thresholds")
        object.__setattr__(self, "prm_thresholds", thresholds)

    def _teacher_forced_defaults(self) -> None:
        """A teacher-forced run reads the reference solutions once at T=1 and samples nothing: the
        sampling fields and sample logs do not apply, so values for them (from a preset override
        such as --n, or a spec file's common keys) are set aside rather than refused."""
        for name, value in (("n", 1), ("temperatures", (1.0,)), ("temperature_ratios", ()), ("top_p", 1.0),
                            ("prm", False), ("text", "full"), *_LATER_FIELDS.items()):
            object.__setattr__(self, name, value)

    @property
    def teacher_forced(self) -> bool:
        return self.approach == TEACHER_FORCED

    @property
    def strategy(self) -> str:
        return "hnc" if len(self.temperatures) > 1 else "default"

    @property
    def temperature(self) -> float | None:
        return self.temperatures[0] if len(self.temperatures) == 1 else None

    @property
    def completions(self) -> int:
        return 0 if self.teacher_forced else self.n * self.problems

    def sample_temperatures(self) -> np.ndarray:
        """The temperature of each sample index: counts follow the ratios (cumulative rounding);
        blocks in order for bon and beam_search, cyclic for DVTS (as search-and-learn assigns them)."""
        counts = np.array(block_counts(self.temperature_ratios, self.n), dtype=np.int64)
        which = np.repeat(np.arange(len(counts)), counts)
        if self.approach == "dvts":
            rank = np.arange(self.n) - np.repeat(np.cumsum(counts) - counts, counts)
            which = which[np.lexsort((which, rank))]
        return np.array(self.temperatures)[which]

    def identity(self) -> dict[str, Any]:
        """Everything that determines the data: the run id is a hash of it."""
        spec = {k: v for k, v in asdict(self).items() if _LATER_FIELDS.get(k, object()) != v}
        spec.update(temperatures=list(self.temperatures), temperature_ratios=list(self.temperature_ratios),
                    dataset=MATH500, simulator_version=SIMULATOR_VERSION)
        if self.prm_thresholds:
            spec["prm_thresholds"] = list(self.prm_thresholds)
        return spec

    @property
    def run_id(self) -> str:
        return derive_run_id("simulated", self.identity())

    @property
    def name(self) -> str:
        short = self.model.rsplit("/", 1)[-1]
        if self.teacher_forced:
            return f"sim/{short}/teacher_forced" + (f"/first{self.problems}" if self.problems < MATH500_SIZE else "")
        if self.strategy == "hnc":
            equal = len(set(self.temperature_ratios)) == 1
            setting = "hnc-T" + "-".join(f"{t:g}" if equal else f"{t:g}x{r:g}"
                                         for t, r in zip(self.temperatures, self.temperature_ratios))
        else:
            setting = f"T{self.temperature:g}"
        name = f"sim/{short}/{self.approach}/{setting}/n{self.n}/seed{self.seed}"
        if self.problems < MATH500_SIZE:
            name += f"/first{self.problems}"
        logs = (("/prm-tau" if self.prm_thresholds else "") + ("/tokens" if self.log_tokens else "")
                + ("/embed" if self.embed else ""))
        return name + ("/brief" if self.text == "brief" else "") + ("" if self.prm else "/noprm") + logs

    def run_meta(self) -> dict[str, Any]:
        """The `runs` row of this spec (status and timestamps are added by open_run)."""
        short = self.model.rsplit("/", 1)[-1].removesuffix("-Instruct")
        if self.teacher_forced:
            return self._teacher_forced_meta(short)
        search = SEARCH_PARAMS if self.approach in SEARCHES else {}
        scored = self.prm or self.approach in SEARCHES
        return {
            "run_id": self.run_id, "name": self.name, "source": "simulated", "source_format": "simulation",
            "dataset": MATH500, "model": self.model, "approach": self.approach, "strategy": self.strategy,
            "temperature": self.temperature, "temperatures": list(self.temperatures),
            "temperature_ratios": list(self.temperature_ratios), "top_p": self.top_p, "n": self.n,
            "seed": self.seed, **search, "agg_strategy": "last" if scored else None,
            "prm_model": self.prm_model if scored else None, "max_tokens": self.max_tokens,
            "category": f"math500_{short}" + ("_hnc" if self.strategy == "hnc" else ""),
            "config": self.identity(),
            "notes": (f"Simulated by `ttsw simulate` (simulator v{SIMULATOR_VERSION}): synthetic completions "
                      "and PRM scores on the real MATH-500 problems, drawn from a latent difficulty model. "
                      "Not model outputs; for demos and tests only."),
            "versions": {"simulator": SIMULATOR_VERSION, "numpy": np.__version__},
        }

    def _teacher_forced_meta(self, short: str) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "name": self.name, "source": "simulated", "source_format": "simulation",
            "dataset": MATH500, "model": self.model, "approach": TEACHER_FORCED, "strategy": "default",
            "seed": self.seed, "max_tokens": self.max_tokens, "category": f"math500_{short}_calibration",
            "config": self.identity(),
            "notes": (f"Simulated by `ttsw simulate` (simulator v{SIMULATOR_VERSION}): teacher-forced top-k "
                      "probabilities of the model reading each MATH-500 reference solution (doc_idx = the "
                      "problem's 0-based position in MATH-500), drawn from a calibration model. Not model "
                      "outputs; for demos and tests only."),
            "versions": {"simulator": SIMULATOR_VERSION, "numpy": np.__version__},
        }


def parse_temperature_setting(text: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """'0.8' -> ((0.8,), ()); '0.4+1.2' -> equal ratios; '0.4:0.75+1.2:0.25' -> explicit ratios."""
    temps, ratios = [], []
    try:
        for part in text.split("+"):
            temp, _, ratio = part.partition(":")
            temps.append(float(temp))
            if ratio:
                ratios.append(float(ratio))
    except ValueError:
        raise ValueError(f"bad temperature setting {text!r}; write 0.8, 0.4+0.8+1.2 or 0.4:0.75+1.2:0.25") from None
    if ratios and len(ratios) != len(temps):
        raise ValueError(f"temperature setting {text!r}: give a ratio for every temperature or for none")
    return tuple(temps), tuple(ratios)


def _setting(value: Any) -> tuple[tuple[float, ...], tuple[float, ...]]:
    if isinstance(value, str):
        return parse_temperature_setting(value)
    if isinstance(value, (int, float)):
        return (float(value),), ()
    if isinstance(value, dict):
        return tuple(value["temperatures"]), tuple(value.get("ratios", ()))
    return tuple(value), ()


def grid_specs(models: Iterable[str], approaches: Iterable[str], temperatures: Iterable[Any],
               seeds: Iterable[int], **common: Any) -> list[SimSpec]:
    """The cross product models × approaches × temperature settings × seeds; `common` fills the rest."""
    settings = [_setting(t) for t in temperatures]
    return [SimSpec(model=m, approach=a, temperatures=t, temperature_ratios=r, seed=s, **common)
            for m, a, (t, r), s in itertools.product(models, approaches, settings, seeds)]


GRID_KEYS = ("models", "approaches", "temperatures", "seeds")
COMMON_KEYS = tuple(f.name for f in fields(SimSpec) if f.name not in
                    ("model", "approach", "temperatures", "temperature_ratios", "seed"))
GRID_DEFAULTS = {"models": [MODELS[0]], "approaches": ["bon"], "temperatures": [0.8], "seeds": [0]}


def specs_from_config(config: dict[str, Any]) -> list[SimSpec]:
    """Specs from a spec-file mapping: a grid (models, approaches, temperatures, seeds and the
    common fields) and/or `runs:`, a list of explicit specs (common fields fill their gaps)."""
    unknown = set(config) - set(GRID_KEYS) - set(COMMON_KEYS) - {"runs"}
    if unknown:
        raise ValueError(f"unknown spec key(s) {sorted(unknown)}; known: {', '.join((*GRID_KEYS, *COMMON_KEYS, 'runs'))}")
    common = {k: config[k] for k in COMMON_KEYS if k in config}
    specs = []
    if any(k in config for k in GRID_KEYS) or "runs" not in config:
        grid = {k: _as_list(config.get(k, GRID_DEFAULTS[k])) for k in GRID_KEYS}
        specs += grid_specs(**grid, **common)
    for run in config.get("runs") or []:
        run = dict(run)
        if "temperature" in run:
            run["temperatures"], run["temperature_ratios"] = _setting(run.pop("temperature"))
        specs.append(SimSpec(**{**common, **run}))
    return specs


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def load_spec_file(path: str | Path) -> dict[str, Any]:
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a spec file is a mapping (models:, approaches:, … or runs:)")
    return data


def _demo() -> list[SimSpec]:
    qwen15, qwen3, llama = MODELS
    return [
        *grid_specs([qwen15], ["bon"], [0.8], [0, 1, 2]),
        *grid_specs([qwen15], ["bon"], [0.4, 1.2], [0]),
        *grid_specs([qwen15], ["bon"], [HNC_TEMPERATURES], [0, 1]),
        *grid_specs([qwen15], ["beam_search", "dvts"], [0.8], [0]),
        *grid_specs([qwen15], ["dvts"], [HNC_TEMPERATURES], [0]),
        *grid_specs([qwen3], ["bon"], [0.8], [0], n=256),
        *grid_specs([llama], ["bon"], [0.8], [0, 1]),
        # the logs other analyses read, on runs of their own so that the runs above keep their ids:
        # a fourth T=0.8 seed whose partial completions are PRM-scored (PRM reliability), a sampled
        # run with token logs (~0.6M token rows) and trace embeddings, and a calibration run per model
        SimSpec(qwen15, seed=3, prm_thresholds=PRM_THRESHOLDS),
        SimSpec(qwen15, "sampling", n=8, problems=250, prm=False, log_tokens=True, embed=True),
        *grid_specs(MODELS, [TEACHER_FORCED], [1.0], [0]),
    ]


def _bench() -> list[SimSpec]:
    # 3 models × 3 approaches × 5 temperature settings × 7 seeds = 315 runs × 32,000 = 10.08M completions;
    # completions only (it measures the simulator's throughput), no extra logs
    settings = [0.4, 0.8, 1.2, 1.6, HNC_TEMPERATURES]
    return grid_specs(MODELS, ["bon", *SEARCHES], settings, range(7), text="brief", prm=False)


def _tiny() -> list[SimSpec]:
    qwen15, _, llama = MODELS
    small = {"n": 8, "problems": 20}
    return [
        SimSpec(qwen15, prm_thresholds=PRM_THRESHOLDS, log_tokens=True, embed=True, **small),
        *grid_specs([qwen15], ["bon"], [0.8], [1], **small),
        *grid_specs([qwen15], ["bon", "dvts"], ["0.4+1.2"], [0], **small),
        *grid_specs([qwen15], ["beam_search"], [0.8], [0], **small),
        *grid_specs([llama], ["bon"], [1.2], [0], **small),
        *grid_specs([qwen15], [TEACHER_FORCED], [1.0], [0], problems=small["problems"]),
    ]


PRESETS = {
    "demo": (_demo, "18 runs on MATH-500: 3 models, bon/beam_search/dvts/sampling, T 0.4-1.2, HNC, 4 seeds; "
                    "N=64 and one N=256 (~0.55M completions); partial-PRM scores on one run, token logs and "
                    "embeddings on a sampled N=8 run, a teacher-forced calibration run per model"),
    "bench": (_bench, "315 runs × 500 problems × N=64 = 10.08M completions, brief texts, no PRM scores"),
    "tiny": (_tiny, "6 runs on the first 20 problems with N=8, one with partial-PRM scores, token logs and "
                    "embeddings, and a teacher-forced calibration run (for tests)"),
}


def preset_specs(name: str, **overrides: Any) -> list[SimSpec]:
    """The specs of a preset; `overrides` (n, problems, prm, text, max_tokens …) apply to every run."""
    try:
        build = PRESETS[name][0]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}") from None
    return [replace(spec, **overrides) for spec in build()]

"""Job configs: dataclasses whose fields are at once the YAML keys and the command-line flags.

One mechanism for every job: `resolve(cls, path, flags)` layers the dataclass defaults, the YAML
file and the flags given (flags win), converts and checks every value, and raises `ConfigError`
naming the key and where it came from (the file, or `--flag`). `click_options(cls)` turns the
same fields into click options (`top_p` -> `--top-p`, booleans as `--x/--no-x`), so a job also
runs with flags alone. A field's metadata holds its help text, its allowed choices, a check, and
whether it determines the data (`identity`): the run id is a hash of the identity fields only, so
changing a runtime knob (device, batch size, shard, concurrency) continues the same run.

Imports nothing heavy: `ttsw --help` builds the options from these classes.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from generation.backends import REGISTRY
from warehouse.errors import WarehouseError
from warehouse.redact import MASK, redact

BACKENDS = tuple(REGISTRY)
DTYPES = ("auto", "float32", "float16", "bfloat16")
APPROACHES = ("bon", "sampling")
# Keys of the seeds' own configs, pointed at their names here (never silently accepted).
SEED_KEYS = {"num_candidates": "n", "N": "n", "model_name": "model", "max_new_tokens": "max_tokens",
             "num_samples": "max_queries", "query_column": "problem_field", "splits": "split",
             "dataset_path": "dataset", "temperature_mixture": "temperatures"}


class ConfigError(WarehouseError):
    """A config value is missing, unknown, of the wrong type or out of range; the message quotes
    values, so credentials in it are masked (`warehouse.redact`)."""

    def __init__(self, message: str):
        super().__init__(redact(message))


def opt(default: Any, help: str, *, choices: tuple[str, ...] | None = None,
        check: Callable[[Any], str | None] | None = None, identity: bool = True, metavar: str | None = None):
    """A config field: its default, help text, allowed choices, a check returning an error or None,
    and whether it determines the generated data (and so the run id)."""
    meta = {"help": help, "choices": choices, "check": check, "identity": identity, "metavar": metavar}
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def at_least(low: float) -> Callable[[Any], str | None]:
    return lambda v: None if v is None or v >= low else f"must be at least {low:g}, got {v}"


def in_unit(v: Any) -> str | None:
    return None if v is None or 0 < v <= 1 else f"must be in (0, 1], got {v}"


def positive_all(v: tuple) -> str | None:
    return None if all(x > 0 for x in v) else f"every value must be positive, got {list(v)}"


def _shard_check(v: str | None) -> str | None:
    if v is None:
        return None
    try:
        parse_shard(v)
    except ValueError as exc:
        return str(exc)
    return None


def parse_shard(text: str) -> tuple[int, int]:
    """'1/4' -> (1, 4): this process takes every problem whose index mod 4 is 1."""
    index, slash, count = str(text).partition("/")
    if not slash or not index.strip().isdigit() or not count.strip().isdigit():
        raise ValueError(f"write a shard as i/k (0 <= i < k), got {text!r}")
    i, k = int(index), int(count)
    if not 0 <= i < k:
        raise ValueError(f"shard {text!r}: need 0 <= i < k")
    return i, k


def _prices_check(v: dict) -> str | None:
    unknown = set(v) - {"input", "output"}
    if unknown:
        return f"only 'input' and 'output' (USD per 1M tokens) are known, got {sorted(unknown)}"
    bad = {k: p for k, p in v.items() if not isinstance(p, (int, float)) or isinstance(p, bool) or p < 0}
    return f"prices must be non-negative numbers, got {bad}" if bad else None


def _base_url_check(v: str | None) -> str | None:
    if v and f"{MASK}@" in v:
        return ("has its credentials masked, as every stored or printed config does; pass --base-url with "
                "them again (http://user:password@host/v1)")
    return None


def _decoding_check(v: dict) -> str | None:
    native = sorted(set(v) & {"temperature", "top_p", "top_k"})
    if native:
        return f"must not hold {native}: temperature, top_p and top_k are top-level keys"
    return None


@dataclass
class GenerateConfig:
    """Everything a sampling job needs: model and backend, problems, sampling, prompt, running, costs."""

    name: str | None = opt(None, "Run name (default: built from model, dataset, temperature, n and seed).",
                           identity=False)
    backend: str = opt("hf", "Model backend: hf (transformers, CPU or GPU), vllm (offline engine, GPU), "
                             "openai (any OpenAI-compatible endpoint).", choices=BACKENDS)
    model: str | None = opt(None, "Model: a Hugging Face name or local folder (hf, vllm), or the served "
                                  "model name (openai). Required.")
    dataset: str = opt("math500", "Problems: math500 (the bundled MATH-500), a local .jsonl/.json/.parquet "
                                  "file or dataset folder, or a Hugging Face dataset name.")
    dataset_name: str | None = opt(None, "Dataset name recorded in the lake (problem ids hash it; default: the "
                                         "Hub name, HuggingFaceH4/MATH-500 for math500, the file name of a local file).")
    dataset_config: str | None = opt(None, "Hugging Face dataset config (subset) name.")
    split: str = opt("test", "Split(s), comma-separated; max_queries applies to each.")
    streaming: bool = opt(False, "Stream a Hugging Face dataset instead of downloading it whole.", identity=False)
    problem_field: str = opt("problem", "Field holding the problem text; a dotted path reaches into nested "
                                        "records (messages.0.content).")
    answer_field: str | None = opt("answer", "Field holding the gold answer (none: no gold). A GSM8K-style "
                                             "'... #### 42' keeps 42 as the answer and the text as the solution.")
    id_field: str | None = opt(None, "Field holding the problem's own id (default: the problem text identifies it).")
    max_queries: int | None = opt(None, "Only the first K problems of each split.", check=at_least(1))
    n: int = opt(4, "Samples per problem.", check=at_least(1))
    temperature: float | None = opt(0.8, "Sampling temperature (0: greedy).", check=at_least(0))
    temperatures: tuple[float, ...] = opt((), "An HNC mixture instead of one temperature: comma-separated, "
                                               "each sample gets one, in blocks by ratio.", check=positive_all)
    temperature_ratios: tuple[float, ...] = opt((), "Share of the n samples per mixture temperature "
                                                    "(default: equal).", check=positive_all)
    top_p: float = opt(1.0, "Nucleus sampling: keep the smallest set of tokens with this much probability.",
                       check=in_unit)
    top_k: int = opt(0, "Keep the k most probable tokens (0: off).", check=at_least(0))
    max_tokens: int = opt(2048, "Generation budget per sample, in tokens.", check=at_least(1))
    seed: int = opt(0, "Seed: each request's seed derives from it, the problem and the temperature block.")
    stop: tuple[str, ...] = opt((), "Stop strings, comma-separated (the text ends before them).")
    decoding: dict[str, Any] = opt({}, "Decoding rules beyond temperature/top-p/top-k (generation.decoding), "
                                       "as key=value,... or a YAML mapping: min_p=0.05,greedy_threshold=0.3.",
                                   check=_decoding_check, metavar="RULES")
    log_tokens: bool = opt(False, "Record token_traces (logprob, rank, entropy, top-k per token) and decode_events.")
    top_logprobs: int = opt(5, "With log_tokens: the top-k ids and logprobs kept per token.", check=at_least(0))
    low_conf_threshold: float | None = opt(1.0, "With log_tokens: a decode event 'low_conf' where the top-1 "
                                                "probability is below this (none: off; the seed's default).",
                                           check=in_unit)
    all_sampled_threshold: float | None = opt(0.1, "With log_tokens: a decode event 'all_sampled' where the chosen "
                                                   "token's probability is below this (none: off; the seed's "
                                                   "default).", check=in_unit)
    system_prompt: str | None = opt(None, "System prompt (chat models).")
    prompt_template: str = opt("{problem}", "User prompt; {problem} is the problem text, {field} any field of "
                                            "the record.")
    chat: bool = opt(True, "Apply the model's chat template (else the template's text is the raw prompt).")
    approach: str | None = opt(None, "runs.approach (default: bon when n > 1, else sampling).", choices=APPROACHES)
    shard: str | None = opt(None, "Take only problems whose index mod k is i (i/k). Shards share the run.",
                            check=_shard_check, identity=False, metavar="I/K")
    part_size: int = opt(32, "Problems per part file (the unit of resume).", check=at_least(1), identity=False)
    concurrency: int = opt(8, "Requests in flight at once (openai).", check=at_least(1), identity=False)
    dtype: str = opt("auto", "Weights dtype (hf, vllm).", choices=DTYPES)
    device: str = opt("auto", "Device (hf): auto (cuda when available), cpu, cuda, cuda:1 ...", identity=False)
    batch_size: int = opt(16, "Sequences generated at once, prompts x samples (hf).", check=at_least(1),
                          identity=False)
    tensor_parallel_size: int = opt(1, "GPUs per model (vllm).", check=at_least(1), identity=False)
    gpu_memory_utilization: float = opt(0.9, "Share of GPU memory vLLM may take.", check=in_unit, identity=False)
    base_url: str | None = opt(None, "Endpoint (openai), e.g. http://localhost:8000/v1; credentials in it "
                                     "(http://user:password@host/v1) are sent as HTTP Basic instead of the key, "
                                     "and masked wherever the config is stored or printed.",
                               check=_base_url_check, identity=False)
    api_key_env: str = opt("OPENAI_API_KEY", "Environment variable holding the API key (the key itself is "
                                             "never stored).", identity=False)
    timeout: float = opt(60.0, "Seconds per HTTP request (openai).", check=at_least(0.001), identity=False)
    max_retries: int = opt(5, "Retries on 429, 5xx and timeouts (openai).", check=at_least(0), identity=False)
    prices: dict[str, float] = opt({}, "USD per 1M tokens for the --dry-run cost estimate: input=0.15,output=0.6.",
                                   check=_prices_check, identity=False, metavar="input=X,output=Y")
    mean_output_tokens: int | None = opt(None, "Expected output tokens per sample for the cost estimate "
                                               "(default: max_tokens, an upper bound).", check=at_least(1),
                                         identity=False)
    category: str | None = opt(None, "Free label for grouping runs (runs.category).", identity=False)
    notes: str | None = opt(None, "Notes kept with the run (runs.notes).", identity=False)

    def problems(self) -> list[tuple[str, str]]:
        """Cross-field checks: (key, message) for each problem found; each message names its key."""
        out = []
        if not self.model:
            out.append(("model", "no model given: set `model:` in the config file or pass --model"))
        if self.temperatures:
            if self.temperature_ratios and len(self.temperature_ratios) != len(self.temperatures):
                out.append(("temperature_ratios", f"temperature_ratios: give one ratio per temperature {list(self.temperatures)}, "
                                                  f"got {list(self.temperature_ratios)}"))
            if len(self.temperatures) > self.n:
                out.append(("n", f"n={self.n} is smaller than the number of temperatures {len(self.temperatures)}"))
        elif self.temperature_ratios:
            out.append(("temperature_ratios", "temperature_ratios only apply to a temperatures mixture"))
        if self.backend == "openai" and self.decoding:
            out.append(("decoding", "decoding: an OpenAI-compatible endpoint cannot apply our decoding rules; "
                                    "use the hf or vllm backend"))
        if self.backend == "openai" and self.top_k:
            out.append(("top_k", "top_k: the OpenAI protocol has no top-k; leave it 0 with the openai backend"))
        if self.backend == "openai" and not self.base_url:
            out.append(("base_url", "base_url is required with the openai backend"))
        if self.decoding:
            from generation.decoding.rules import DecodingRules

            try:
                DecodingRules.from_dict(self.decoding)
            except (ValueError, TypeError) as exc:
                out.append(("decoding", str(exc)))
        try:
            template_fields(self.prompt_template)
        except ValueError as exc:
            out.append(("prompt_template", f"prompt_template: {exc}"))
        return out

    def temperature_blocks(self) -> list[tuple[float, int]]:
        """(temperature, samples) per block, in sample order: the mixture's counts follow the ratios
        (generation.mixtures: cumulative rounding); one block without a mixture."""
        if not self.temperatures:
            return [(float(self.temperature), self.n)]
        from generation.mixtures import block_counts

        counts = block_counts(list(self.temperature_ratios) or [1.0] * len(self.temperatures), self.n)
        return [(float(t), c) for t, c in zip(self.temperatures, counts) if c]

    @property
    def run_approach(self) -> str:
        return self.approach or ("bon" if self.n > 1 else "sampling")

    @property
    def strategy(self) -> str:
        return "hnc" if len(self.temperatures) > 1 else "default"


def template_fields(template: str) -> list[str]:
    """The named fields a prompt template uses ('{problem} {a.b}' -> ['problem', 'a.b'])."""
    import string

    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"not a valid template ({exc}); write {{problem}}, and {{{{ }}}} for a literal brace") from None
    names = [name for _, name, _, _ in parsed if name is not None]
    if any(not name or name.isdigit() for name in names):
        raise ValueError("use named fields such as {problem}, not {} or {0}")
    return names


# --- values: conversion and checks --------------------------------------------------------------

def config_fields(cls: type) -> dict[str, tuple[dataclasses.Field, Any]]:
    """field name -> (field, resolved type annotation)."""
    hints = typing.get_type_hints(cls)
    return {f.name: (f, hints[f.name]) for f in dataclasses.fields(cls)}


def _base_type(annotation: Any) -> tuple[Any, bool]:
    """(the type without None, whether None is allowed)."""
    args = typing.get_args(annotation)
    if type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return annotation, False


def _parse_mapping(text: str) -> dict[str, Any]:
    """'a=1,b=x' or a YAML flow mapping '{a: 1, b: [1, 2]}' as a dict (values typed by YAML)."""
    import yaml

    def load(part: str) -> Any:
        try:
            return yaml.safe_load(part)
        except yaml.YAMLError:
            raise ValueError(f"cannot read {part!r}; write key=value,... or {{key: value, ...}}") from None

    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        value = load(text)
        if not isinstance(value, dict):
            raise ValueError(f"{text!r} is not a mapping")
        return value
    out = {}
    for item in _split_top_level(text):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"write key=value pairs separated by commas, got {item!r}")
        out[key.strip()] = load(value)
    return out


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets: 'a=[1,2],b=3' -> ['a=[1,2]', 'b=3']."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "[{("
        depth -= char in "]})"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [p for p in (*parts, current) if p.strip()]


def convert(name: str, annotation: Any, value: Any) -> Any:
    """A YAML or flag value as the field's type; ValueError with a plain message when it is not one."""
    kind, optional = _base_type(annotation)
    if value is None and typing.get_origin(kind) is not dict:
        if optional:
            return None
        raise ValueError("must not be empty")
    origin = typing.get_origin(kind)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        items = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
        if isinstance(items, (int, float)) and not isinstance(items, bool):
            items = [items]
        if not isinstance(items, (list, tuple)):
            raise ValueError(f"must be a list, got {value!r}")
        return tuple(convert(name, item, v) for v in items)
    if origin is dict:
        mapping = _parse_mapping(value) if isinstance(value, str) else {} if value is None else value
        if not isinstance(mapping, dict):
            raise ValueError(f"must be a mapping, got {value!r}")
        return dict(mapping)
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ValueError(f"must be true or false, got {value!r}")
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError(f"must be an integer, got {value!r}")
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"must be an integer, got {value!r}") from None
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"must be a number, got {value!r}")
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"must be a number, got {value!r}") from None
    if kind is str:
        if isinstance(value, (dict, list, bool)):
            raise ValueError(f"must be a string, got {value!r}")
        return str(value)
    raise TypeError(f"config field {name}: unsupported type {annotation}")


# --- resolution: defaults < YAML < flags ---------------------------------------------------------

# Keys that say the same thing in two ways: the layer that sets one resets the others.
EXCLUSIVE = (("temperature", "temperatures"),)


def load_yaml(path: str | Path) -> dict[str, Any]:
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config is a mapping of keys to values, got {type(data).__name__}")
    return data


def _unknown_key(cls: type, key: str, source: str) -> ConfigError:
    names = list(config_fields(cls))
    if key in SEED_KEYS and SEED_KEYS[key] in names:
        hint = f"; here it is called {SEED_KEYS[key]!r}"
    else:
        close = difflib.get_close_matches(key, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
    return ConfigError(f"{source}: unknown key {key!r}{hint} (keys: {', '.join(names)})")


def flag_name(key: str) -> str:
    return "--" + key.replace("_", "-")


def resolve(cls: type, path: str | Path | None = None, flags: dict[str, Any] | None = None,
            base: dict[str, Any] | None = None, base_source: str = "stored config"):
    """The config from the defaults, then `base` (a stored config), then the YAML file, then flags."""
    fields = config_fields(cls)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    layers = [(base or {}, base_source, False)]
    if path is not None:
        layers.append((load_yaml(path), str(path), False))
    layers.append((flags or {}, "", True))
    for layer, source, is_flags in layers:
        for key in layer:
            if key not in fields:
                raise _unknown_key(cls, key, source or "flags")
        for group in EXCLUSIVE:
            given = [k for k in group if k in layer and layer[k] not in (None, (), [])]
            if len(given) > 1:
                where = " and ".join(flag_name(k) for k in given) if is_flags else f"{source}: keys {given}"
                raise ConfigError(f"{where}: give one of them, not both")
            for other in (k for k in group if given and k not in given):
                values.pop(other, None)
                values[other] = None if _base_type(fields[other][1])[1] else fields[other][0].default
                sources[other] = flag_name(given[0]) if is_flags else source
        for key, value in layer.items():
            where = flag_name(key) if is_flags else f"{source}: key {key!r}"
            try:
                values[key] = convert(key, fields[key][1], value)
            except ValueError as exc:
                raise ConfigError(f"{where} {exc}") from None
            sources[key] = flag_name(key) if is_flags else f"{source}: key {key!r}"
    config = cls(**values)
    for key, (f, _) in fields.items():
        value = getattr(config, key)
        where = sources.get(key, f"{key} (default)")
        choices = f.metadata.get("choices")
        if choices and value is not None and value not in choices:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(choices)}")
        check = f.metadata.get("check")
        message = check(value) if check else None
        if message:
            raise ConfigError(f"{where} {message}")
    for key, message in config.problems():
        where = sources.get(key) or (str(path) if path is not None else None)
        raise ConfigError(f"{where}: {message}" if where else message)
    return config


def to_dict(config: Any) -> dict[str, Any]:
    """The config as plain JSON/YAML values (tuples as lists)."""
    out = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def identity(config: Any) -> dict[str, Any]:
    """The fields that determine the generated data: what the run id is derived from."""
    return {k: v for k, v in to_dict(config).items()
            if config_fields(type(config))[k][0].metadata.get("identity", True)}


def to_yaml(config: Any) -> str:
    """The config as YAML to show (--dry-run), credentials masked."""
    import yaml

    return yaml.safe_dump(redact(to_dict(config)), sort_keys=False, allow_unicode=True, width=100)


# --- the command line ----------------------------------------------------------------------------

def click_options(cls: type):
    """A decorator adding one click option per config field (default None: 'not given')."""
    import click

    decorators = []
    for name, (f, annotation) in config_fields(cls).items():
        kind, _ = _base_type(annotation)
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if default in (None, (), {}):
            text = f.metadata["help"]
        else:
            shown = (",".join(map(str, default)) if isinstance(default, tuple)
                     else str(default).lower() if isinstance(default, bool) else default)
            text = f"{f.metadata['help']}  [default: {shown}]"
        flag = flag_name(name)
        if kind is bool:
            decorators.append(click.option(f"{flag}/--no-{flag[2:]}", name, default=None, help=text))
            continue
        click_type = {int: click.INT, float: click.FLOAT}.get(kind, click.STRING)
        if f.metadata.get("choices"):
            click_type = click.Choice(f.metadata["choices"])
        metavar = f.metadata.get("metavar") or (
            "A,B,..." if typing.get_origin(kind) is tuple else None)
        decorators.append(click.option(flag, name, type=click_type, default=None, help=text, metavar=metavar))

    def apply(function):
        for decorator in reversed(decorators):
            function = decorator(function)
        return function
    return apply


def flags_given(cls: type, params: dict[str, Any]) -> dict[str, Any]:
    """The config keys among click's parameters that were given on the command line."""
    fields = config_fields(cls)
    return {k: v for k, v in params.items() if k in fields and v is not None}


# --- jobs that read an existing run (prm, embed) -------------------------------------------------

PRM_STYLES = ("qwen", "rlhflow")
PRM_KINDS = ("step", "whole")


def _kinds_check(v: tuple) -> str | None:
    bad = [k for k in v if k not in PRM_KINDS]
    if bad or not v:
        return f"must be a non-empty list of {', '.join(PRM_KINDS)}, got {list(v)}"
    return None


@dataclass
class ScoringConfig:
    """The fields of every job that reads the completions of a run already in the lake."""

    run: str | None = opt(None, "The run whose completions are read: id, name or id prefix. Required.")
    part_size: int = opt(16, "Problems per part file (the unit of resume).", check=at_least(1), identity=False)
    batch_size: int = opt(8, "Sequences per forward pass.", check=at_least(1), identity=False)
    max_length: int | None = opt(None, "Cut model inputs to this many tokens (default: no cut).", check=at_least(1))
    dtype: str = opt("auto", "Weights dtype.", choices=DTYPES)
    device: str = opt("auto", "Device: auto (cuda when available), cpu, cuda, cuda:1 ...", identity=False)
    trust_remote_code: bool = opt(False, "Let transformers run the model repository's own code.", identity=False)
    shard: str | None = opt(None, "Take only problems whose index mod k is i (i/k).", check=_shard_check,
                            identity=False, metavar="I/K")

    def problems(self) -> list[tuple[str, str]]:
        return [] if self.run else [("run", "no run given: pass --run RUN (id, name or id prefix)")]


@dataclass
class PrmConfig(ScoringConfig):
    """Score a run's completions with a process reward model, whole and cut at token thresholds."""

    prm_model: str | None = opt(None, "The PRM: a Hugging Face name or local folder. Required.")
    style: str = opt("qwen", "qwen: a token-classification PRM, steps joined by step_separator, P(positive) "
                             "at each separator; rlhflow: a causal LM, one user turn per step answered '+', "
                             "P(+)/(P(+)+P(-)) at each answer.", choices=PRM_STYLES)
    token_thresholds: tuple[int, ...] = opt((128, 256, 512, 1024, 2048), "Score the first tau tokens of each "
                                            "completion (generator tokens), for each tau.", check=positive_all)
    full: bool = opt(True, "Also score the whole completion (token_threshold null).")
    kinds: tuple[str, ...] = opt(PRM_KINDS, "step: one score per step (split on blank lines); whole: the "
                                            "partial as one step.", check=_kinds_check)
    generator_tokenizer: str | None = opt(None, "Tokenizer that counts the thresholds' tokens (default: the "
                                                "scored run's model).")
    step_separator: str = opt("<extra_0>", "qwen: the token placed after each step.")
    positive_label: int = opt(1, "qwen: the class index of 'step is good' in the PRM's 2-class output.",
                              check=at_least(0))
    plus_token: str = opt("+", "rlhflow: the token that marks a good step.")
    minus_token: str = opt("-", "rlhflow: the token that marks a bad step.")
    system_prompt: str | None = opt(None, "System prompt of the PRM's conversation (qwen's model card uses "
                                          "'Please reason step by step, and put your final answer within "
                                          "\\boxed{}.').")

    def problems(self) -> list[tuple[str, str]]:
        out = super().problems()
        if not self.prm_model:
            out.append(("prm_model", "no PRM given: pass --prm-model or set prm_model in the config file"))
        if not self.token_thresholds and not self.full:
            out.append(("full", "nothing to score: give token_thresholds or leave full on"))
        return out


@dataclass
class EmbedConfig(ScoringConfig):
    """Split a run's completions into reasoning and final answer and embed the reasoning."""

    embedding_model: str | None = opt(None, "The encoder: a Hugging Face name or local folder. Required.")
    reasoning_start: str | None = opt(None, "The reasoning starts after the first occurrence of this marker "
                                            "(absent: at the start).")
    final_markers: tuple[str, ...] = opt(("Therefore, the final answer is", "Therefore, the answer is",
                                          "Final Answer", "\\boxed"),
                                         "The final answer starts at the last occurrence of the first of these "
                                         "markers found in the text (none found: all reasoning, no answer).")
    normalize: bool = opt(False, "Scale each vector to unit length.")

    def problems(self) -> list[tuple[str, str]]:
        out = super().problems()
        if not self.embedding_model:
            out.append(("embedding_model", "no encoder given: pass --embedding-model"))
        return out


# --- teacher-forced top-k (topk) -----------------------------------------------------------------

TOPK_ENGINES = ("transformers", "torchtune")


@dataclass
class TopkConfig:
    """Teacher-forced top-k over texts: one forward pass per text, the top k of each next-token distribution."""

    name: str | None = opt(None, "Run name (default: topk/<model>/<texts>/k<top_k>).", identity=False)
    model: str | None = opt(None, "Causal LM: a Hugging Face name or local folder (with --engine torchtune: the "
                                  "model's name on the run). Required.")
    dataset: str | None = opt(None, "Texts: a local .jsonl/.json/.parquet file (give this or --run).")
    text_field: str = opt("text", "Field of a dataset record holding the text; a dotted path reaches into nested "
                                  "records.")
    run: str | None = opt(None, "Texts: the completions of this run (id, name or id prefix), in problem and "
                                "sample order (give this or --dataset).")
    max_docs: int | None = opt(None, "Only the first K texts.", check=at_least(1))
    top_k: int = opt(20, "Token ids and probabilities kept per position.", check=at_least(1))
    max_length: int | None = opt(None, "Cut each text to this many tokens (default: the whole text).",
                                 check=at_least(2))
    dtype: str = opt("auto", "Weights dtype.", choices=DTYPES)
    device: str = opt("auto", "Device: auto (cuda when available), cpu, cuda, cuda:1 ...", identity=False)
    batch_size: int = opt(8, "Texts per forward pass.", check=at_least(1), identity=False)
    part_size: int = opt(64, "Texts per part file (the unit of resume).", check=at_least(1), identity=False)
    trust_remote_code: bool = opt(False, "Let transformers run the model repository's own code.", identity=False)
    shard: str | None = opt(None, "Take only texts whose index mod k is i (i/k). Shards share the run.",
                            check=_shard_check, identity=False, metavar="I/K")
    category: str | None = opt(None, "Free label for grouping runs (runs.category).", identity=False)
    notes: str | None = opt(None, "Notes kept with the run (runs.notes).", identity=False)
    engine: str = opt("transformers", "transformers (AutoModelForCausalLM of --model) or torchtune (the model, "
                                      "checkpointer and tokenizer of --torchtune-config; --model then only names "
                                      "the model on the run; needs torchtune==0.6.1 torchao==0.15.0).",
                      choices=TOPK_ENGINES)
    torchtune_config: str | None = opt(None, "torchtune YAML with model, checkpointer and tokenizer components "
                                             "(--engine torchtune).", metavar="FILE")

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if not self.model:
            out.append(("model", "no model given: pass --model or set model in the config file"))
        if bool(self.dataset) == bool(self.run):
            out.append(("dataset", "give the texts as exactly one of --dataset FILE or --run RUN"))
        if self.engine == "torchtune" and not self.torchtune_config:
            out.append(("torchtune_config", "--engine torchtune needs --torchtune-config FILE (a torchtune YAML "
                                            "with model, checkpointer and tokenizer)"))
        if self.engine != "torchtune" and self.torchtune_config:
            out.append(("torchtune_config", "--torchtune-config is read only with --engine torchtune"))
        return out


# --- lm-eval -------------------------------------------------------------------------------------

LM_EVAL_BACKENDS = ("hf", "vllm")


@dataclass
class LmEvalConfig:
    """lm-eval's simple_evaluate (hf or vllm, our decoding rules), samples and rank logs in lm-eval's layout."""

    model: str | None = opt(None, "Causal LM: a Hugging Face name or local folder. Required.")
    tasks: tuple[str, ...] = opt((), "lm-eval task names, comma-separated. Required.")
    include_path: str | None = opt(None, "Folder of extra task YAMLs (lm-eval's --include_path).")
    output_path: str = opt("lm_eval_output", "Output folder: results_<time>.json and samples_<task>_<time>.jsonl "
                                             "land in <output_path>/<model>/.", identity=False)
    limit: int | None = opt(None, "Only the first K docs of each task.", check=at_least(1))
    num_fewshot: int | None = opt(None, "Few-shot examples per prompt (default: the task's).", check=at_least(0))
    gen_kwargs: str | None = opt(None, "Generation arguments for every task, lm-eval's syntax: "
                                       "temperature=0.8,do_sample=True,max_gen_toks=512.")
    seed: int = opt(0, "Seed of lm-eval's random, numpy, torch and few-shot sampling.")
    dtype: str = opt("auto", "Weights dtype.", choices=DTYPES)
    device: str = opt("cpu", "Device: cpu, cuda, cuda:1 ...", identity=False)
    batch_size: int = opt(1, "lm-eval batch size.", check=at_least(1), identity=False)
    backend: str = opt("hf", "lm-eval model: hf (transformers, CPU or GPU) or vllm (offline engine, GPU).",
                       choices=LM_EVAL_BACKENDS)
    repeats: int | None = opt(None, "Sample each doc this many times (sets every task's repeats; default: "
                                    "the task's).", check=at_least(1))
    decoding: dict[str, Any] = opt({}, "Decoding rules beyond the tasks' temperature/top_p/top_k "
                                       "(generation.decoding), as key=value,... or a YAML mapping: min_p=0.05.",
                                   check=_decoding_check, metavar="RULES")
    log_tokens: bool = opt(False, "Write the rank logs low_conf_ranks_<task>_<time>.jsonl and "
                                  "all_sampled_ranks_<task>_<time>.jsonl beside lm-eval's files.")
    low_conf_threshold: float | None = opt(1.0, "With log_tokens: log the steps whose top-1 probability is below "
                                                "this (none: no low_conf log; the seed's default).", check=in_unit)
    all_sampled_threshold: float | None = opt(0.1, "With log_tokens: log the steps whose chosen token's "
                                                   "probability is below this (none: no all_sampled log).",
                                              check=in_unit)
    tensor_parallel_size: int = opt(1, "GPUs per model (vllm).", check=at_least(1), identity=False)
    gpu_memory_utilization: float = opt(0.9, "Share of GPU memory vLLM may take.", check=in_unit, identity=False)

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if not self.model:
            out.append(("model", "no model given: pass --model or set model in the config file"))
        if not self.tasks:
            out.append(("tasks", "no tasks given: pass --tasks TASK,..."))
        if self.decoding:
            from generation.decoding.rules import DecodingRules

            try:
                DecodingRules.from_dict(self.decoding)
            except (ValueError, TypeError) as exc:
                out.append(("decoding", str(exc)))
        if self.log_tokens and self.low_conf_threshold is None and self.all_sampled_threshold is None:
            out.append(("log_tokens", "log_tokens with both thresholds off logs nothing: set low_conf_threshold "
                                      "or all_sampled_threshold"))
        return out

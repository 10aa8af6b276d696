"""From the configs a source holds to the runs it makes: grouping, filtering, descriptive columns.

Configs with the same base name form one run: the config itself, or its `--chunk-…` slices (merged,
in order), plus an `--evals` config whose accuracies become run-level claims. When both a merged
config and its chunks exist, the merged one is read and the chunks are skipped. Names in no known
form are skipped and counted when other configs parse. When none does, local files are read for what
their file and folder names say (`file_names`) and their rows (the sample count); Hub configs, whose
names are all they have, are refused.

Each value's origin is recorded (`Plan.provenance`): config name, repo name, file name, the rows, a
default. Values only guessed from names are marked (`Plan.guessed`), so a value the user gives with
`--meta` replaces them; a given value that contradicts a config name is an error.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace

from ingest.readers.base import SourceError
from ingest.readers.search_and_learn import repo_names
from ingest.readers.search_and_learn.config_names import ConfigName, ConfigNameError, parse
from ingest.readers.search_and_learn.file_names import FileName, from_file_name
from ingest.readers.search_and_learn.files import batches
from ingest.readers.search_and_learn.found import Found, FoundConfig
from warehouse.problems import MATH500

# runs columns a config name states, for provenance
_NAMED = ("temperature", "temperatures", "top_p", "n", "seed", "beam_width", "num_iterations", "lookahead",
          "agg_strategy", "max_tokens")


@dataclass
class Plan:
    name: ConfigName                                  # the run's parameters (from its base name)
    parts: list[tuple[FoundConfig, ConfigName]]       # the config, or its chunks by start
    evals: tuple[FoundConfig, ConfigName] | None = None
    skipped: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    file_name: FileName | None = None                 # a local file whose name is no config name
    provenance: dict[str, str] = field(default_factory=dict)
    guessed: set[str] = field(default_factory=set)


def plan(found: Found, options: dict) -> list[Plan]:
    parsed, unknown, failures = [], [], []
    for config in found.configs:
        try:
            parsed.append((config, parse(config.name)))
        except ConfigNameError as exc:
            unknown.append(str(exc))
            failures.append(config)
    if unknown and not parsed:
        if all(config.path is not None for config in failures):
            return [p for p in (_from_file(config) for config in failures) if _wanted(p, options)]
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise SourceError(found.uri, unknown[0] + more)
    groups: dict[str, dict[str, list]] = defaultdict(lambda: {"full": [], "chunks": [], "evals": []})
    for config, name in parsed:
        kind = "evals" if name.evals else "chunks" if name.chunk else "full"
        groups[name.base][kind].append((config, name))
    plans = [p for p in (_group(base, g) for base, g in groups.items()) if _wanted(p, options)]
    if plans and unknown:
        plans[0].skipped["configs whose names are in no known form"] += len(unknown)
        plans[0].warnings.extend(f"skipped: {reason}" for reason in unknown)
    return plans


def _from_file(config: FoundConfig) -> Plan:
    """A local file (or folder) whose name is no config name: what its names say, and the rows' sample count."""
    stem = config.path.stem if config.path.is_file() else config.path.name
    found = from_file_name(stem, config.path)
    name, result = found.name, Plan(found.name, [], file_name=found)
    result.provenance.update(found.provenance)
    result.guessed.update(found.guessed)
    count = _sample_count(config)
    if count is not None and name.n not in (None, count):
        result.warnings.append(f"the file name says n={name.n} but its rows hold {count} completions each: "
                               f"n recorded as {count}")
    if count is not None:
        result.provenance["n"] = "completions per row" + (" and file name" if name.n == count else "")
        name = replace(name, n=count)
    result.name = name
    result.parts = [(config, name)]
    return result


def _sample_count(config: FoundConfig) -> int | None:
    """How many completions the first row holds (the run's N)."""
    for file in config.files():
        for _, rows in batches(file):
            for row in rows:
                texts = row.get("completions") if isinstance(row, dict) else None
                if isinstance(texts, list):
                    return len(texts)
    return None


def _group(base: str, group: dict[str, list]) -> Plan:
    evals = group["evals"][0] if group["evals"] else None
    if group["full"]:
        result = Plan(group["full"][0][1], group["full"][:1], evals)
        if group["chunks"]:
            result.skipped["chunk configs of a config that is also stored merged"] += len(group["chunks"])
        return result
    chunks = sorted(group["chunks"], key=lambda item: item[1].chunk)
    if chunks:
        return Plan(chunks[0][1], chunks, evals)
    return Plan(evals[1], [], evals)


def _wanted(p: Plan, options: dict) -> bool:
    names = {p.name.base} | {c.name for c, _ in p.parts} | ({p.evals[0].name} if p.evals else set())
    if options.get("configs") and not names & set(options["configs"]):
        return False
    if options.get("seeds") and p.name.seed not in options["seeds"]:
        return False
    temps = options.get("temperatures")
    return not temps or any(t == p.name.temperature or t in p.name.temperatures for t in temps)


def describe(found: Found, p: Plan, options: dict) -> dict:
    """The run's `runs` columns; disagreements between the repo name and the config become warnings."""
    name = p.name
    if p.file_name is None:
        p.provenance.update({key: "config name" for key in _NAMED if getattr(name, key, None) not in (None, ())})
    approach = _file_approach(p) if p.file_name else _approach(found.repo, name, p.warnings)
    said = repo_names.strategy(found.repo) if p.file_name is None else None
    if said and said != name.strategy:
        p.warnings.append(f"repo name says strategy {said!r} but config {name.base!r} is {name.strategy!r}; "
                          "recorded as the config says")
    temps = name.temperatures or ((name.temperature,) if name.temperature is not None else ())
    ratios = name.temperature_ratios or ((1 / len(temps),) * len(temps) if name.strategy == "hnc" else ())
    return {
        "name": f"{found.repo.rsplit('/', 1)[-1]}/{name.base}",
        "source_uri": found.uri,
        "dataset": _dataset(found, p, options),
        "model": _model(found, p),
        "approach": approach, "strategy": name.strategy,
        "temperature": name.temperature, "temperatures": list(temps), "temperature_ratios": list(ratios),
        "top_p": name.top_p, "n": name.n, "seed": name.seed, "beam_width": name.beam_width,
        "num_iterations": name.num_iterations, "lookahead": name.lookahead, "agg_strategy": name.agg_strategy,
        "prm_model": options.get("prm_model") or "unknown", "max_tokens": name.max_tokens,
        "category": options.get("category"),
        "config": {"config": name.base, "parts": [c.name for c, _ in p.parts],
                   "evals": p.evals[0].name if p.evals else None,
                   "stored_as": sorted({c.where for c, _ in p.parts}),
                   "revisions": sorted({c.revision for c, _ in p.parts if c.revision}),
                   "batch_size": name.batch_size, "probe": name.probe, "threshold": name.threshold,
                   **({"file_name": p.file_name.unparsed} if p.file_name else {})},
    }


def _dataset(found: Found, p: Plan, options: dict) -> str:
    given, named = options.get("dataset"), p.name.dataset
    if given and named and given != named:
        raise SourceError(found.uri, f"--meta dataset={given!r} contradicts config name {p.name.base!r}, which says "
                                     f"{named!r}; drop the flag", field="dataset")
    from_repo = repo_names.dataset(found.repo)
    for value, where in ((given, "given (--meta)"), (named, "config name"), (from_repo, "repo name")):
        if value:
            p.provenance["dataset"] = where
            return value
    p.provenance["dataset"] = "default (search-and-learn's MATH-500)"
    p.guessed.add("dataset")
    return MATH500


def _model(found: Found, p: Plan) -> str | None:
    if p.file_name is not None and p.file_name.model:
        return p.file_name.model  # provenance and guess recorded by file_names
    model = repo_names.model(found.repo)
    if model:
        p.provenance["model"] = "guessed from the repo or folder name"
        p.guessed.add("model")
    return model


def _file_approach(p: Plan) -> str | None:
    return p.file_name.approach


def _approach(repo: str, name: ConfigName, warnings: list[str]) -> str:
    said = repo_names.approach(repo)
    if name.tree_search:
        if said in ("beam_search", "dvts"):
            return said
        warnings.append(f"repo name says {said or 'no approach'} but config {name.base!r} has beam parameters "
                        "(m/iters/look): recorded as beam_search (it may be DVTS)")
        return "beam_search"
    if said in ("beam_search", "dvts"):
        warnings.append(f"repo name says {said} but config {name.base!r} has no beam parameters (m/iters/look): "
                        "recorded as bon")
    return "bon"

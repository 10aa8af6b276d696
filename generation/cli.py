"""`ttsw simulate` (realistic simulated runs on MATH-500) and `ttsw generate` (runs from a model).

Imports nothing heavy at import time (numpy, pyarrow, torch and the jobs load inside the
commands), so `ttsw --help` stays instant. `generate bon`'s flags are made from the fields of
generation.config.GenerateConfig, so every config key is a flag.
"""

from __future__ import annotations

from typing import Any

import click

from generation.config import (EmbedConfig, GenerateConfig, LmEvalConfig, PrmConfig, TopkConfig,  # dataclasses only
                               click_options)
from warehouse.home import Home

pass_home = click.make_pass_decorator(Home)
GRID_FLAGS = ("models", "approaches", "temperatures", "seeds")


def _split(text: str | None) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def _seeds(text: str | None) -> list[int] | None:
    """'0,1,2' or '0-6' (inclusive) or a mix."""
    if not text:
        return None
    seeds = []
    try:
        for part in _split(text):
            low, dash, high = part.partition("-")
            seeds += list(range(int(low), int(high) + 1)) if dash and low else [int(part)]
    except ValueError:
        raise click.BadParameter(f"{text!r}: write seeds as 0,1,2 or 0-6", param_hint="--seeds") from None
    return seeds


def _specs(preset: str | None, spec_file: str | None, grid: dict[str, Any], common: dict[str, Any]):
    from dataclasses import replace

    from generation.sim_spec import load_spec_file, preset_specs, specs_from_config

    if preset and (spec_file or grid):
        raise click.UsageError("--preset cannot be combined with --spec or with --models/--approaches/"
                               "--temperatures/--seeds; use --n, --problems, --max-tokens, --prm/--no-prm, "
                               "--text to adjust a preset")
    if preset or not (spec_file or grid):
        return preset_specs(preset or "demo", **common)
    config = load_spec_file(spec_file) if spec_file else {}
    return [replace(spec, **common) for spec in specs_from_config({**config, **grid})]


@click.command(context_settings={"max_content_width": 100})
@click.option("--preset", type=click.Choice(["demo", "bench", "tiny"]),
              help="A ready-made set of runs (default when no spec or grid flag is given: demo).")
@click.option("--spec", "spec_file", type=click.Path(exists=True, dir_okay=False),
              help="YAML spec file: a grid (models, approaches, temperatures, seeds, n, problems, max_tokens, "
                   "prm, text, top_p, prm_model) and/or `runs:`, a list of single runs. Flags override its keys.")
@click.option("--models", help="Comma-separated Hugging Face model names (default Qwen/Qwen2.5-1.5B-Instruct).")
@click.option("--approaches", help="Comma-separated, from bon, beam_search, dvts, sampling, teacher_forced.")
@click.option("--temperatures",
              help="Comma-separated temperature settings: 0.8, or an HNC mixture 0.4+0.8+1.2+1.6 (equal ratios), "
                   "or with ratios 0.4:0.75+1.2:0.25.")
@click.option("--seeds", help="Comma-separated seeds or a range: 0,1,2 or 0-6.")
@click.option("--n", type=click.IntRange(1), help="Samples per problem (default 64).")
@click.option("--problems", type=click.IntRange(1, 500), help="Only the first K MATH-500 problems (default all 500).")
@click.option("--max-tokens", type=click.IntRange(64), help="Generation budget; truncated samples hit it (default 2048).")
@click.option("--prm/--no-prm", default=None, help="Write per-step PRM scores (default: yes; off in the bench preset).")
@click.option("--text", type=click.Choice(["full", "brief"]),
              help="full: steps built from the reference solution; brief: short generic steps (bench preset).")
@click.option("--dry-run", is_flag=True, help="List the runs with their ids and state; write nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@pass_home
def simulate(home: Home, preset: str | None, spec_file: str | None, models: str | None, approaches: str | None,
             temperatures: str | None, seeds: str | None, n: int | None, problems: int | None,
             max_tokens: int | None, prm: bool | None, text: str | None, dry_run: bool, quiet: bool) -> None:
    """Write realistic simulated runs on the real MATH-500 problems into the lake.

    Each run gets a `runs` row (source 'simulated'), its completions (multi-step texts ending in
    a boxed answer; some right answers in equivalent forms, popular wrong answers, a few with
    no answer or truncated) and per-step PRM scores; the problems table is written too. The
    run id is derived from the spec: a complete run is skipped, an incomplete one redone.

    \b
    Presets:
      demo   18 runs on all 500 problems: Qwen2.5-1.5B/3B and Llama-3.2-1B, bon/beam_search/dvts,
             T 0.4/0.8/1.2, HNC 0.4+0.8+1.2+1.6, seeds 0-3, N=64 and one N=256 (~0.55M samples),
             plus partial-PRM scores, a run with token logs and embeddings, and a teacher-forced
             calibration run per model
      bench  315 runs, 10.08M completions (brief texts, no PRM scores)
      tiny   6 runs on the first 20 problems with N=8, one with partial-PRM scores, token
             logs and embeddings, and a teacher-forced calibration run

    \b
    Examples:
      ttsw simulate --preset demo
      ttsw simulate --models Qwen/Qwen2.5-3B-Instruct --approaches bon,dvts \\
                    --temperatures 0.8,0.4+0.8+1.2+1.6 --seeds 0-2 --n 128
      ttsw simulate --spec sim.yaml --problems 100
    """
    from generation.sim_spec import parse_temperature_setting

    grid = {k: v for k, v in {"models": _split(models), "approaches": _split(approaches),
                              "temperatures": _split(temperatures), "seeds": _seeds(seeds)}.items() if v}
    for setting in grid.get("temperatures", []):
        try:
            parse_temperature_setting(setting)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--temperatures") from None
    common = {k: v for k, v in {"n": n, "problems": problems, "max_tokens": max_tokens, "prm": prm,
                                "text": text}.items() if v is not None}
    try:
        specs = _specs(preset, spec_file, grid, common)
    except (ValueError, TypeError, KeyError) as exc:
        raise click.UsageError(f"bad simulation spec: {exc}") from None
    if dry_run:
        _print_plan(home, specs)
        return

    from generation.simulate import simulate as run_simulation

    summary = run_simulation(home, specs, progress=not quiet)
    click.echo(f"simulated {len(summary['written'])} run(s): {summary['completions']:,} completions, "
               f"{summary['prm_scores']:,} PRM scores in {summary['seconds']:.1f} s -> {home.lake}")
    for key, label in (("skipped", "skipped (already complete)"), ("redone", "redone (were incomplete)")):
        if summary[key]:
            names = summary[key]
            click.echo(f"{label}: {len(names)} run(s): " + ", ".join(names[:5]) + (" …" if len(names) > 5 else ""))
    if summary["written"]:
        click.echo("next: `ttsw grade` to grade the answers, then `ttsw build` for the metrics")


def _print_plan(home: Home, specs) -> None:
    from generation.simulate import run_statuses

    statuses = run_statuses(home, [s.run_id for s in specs])
    for spec in specs:
        state = statuses.get(spec.run_id, "new")
        click.echo(f"{spec.run_id}  {state:<8}  {spec.completions:>9,}  {spec.name}")
    click.echo(f"{len(specs)} run(s), {sum(s.completions for s in specs):,} completions")


@click.group(context_settings={"max_content_width": 100})
def generate() -> None:
    """Generate runs with a model and write them into the lake (jobs: bon, prm, topk, embed, lm-eval)."""


@generate.command("bon", context_settings={"max_content_width": 100})
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
              help="YAML config: its keys are the flags below without the dashes (top_p: 0.95); flags override it.")
@click.option("--resume", "resume_ref", metavar="RUN",
              help="Continue a run (id, id prefix or name) from its stored config; flags may change only keys "
                   "that do not determine the data (device, batch size, shard, ...).")
@click.option("--dry-run", is_flag=True,
              help="Print the resolved config, the run id, the number of requests and, with prices, a cost "
                   "estimate; load no model, write nothing.")
@click.option("--progress/--no-progress", default=None, help="Progress bar.  [default: when stderr is a terminal]")
@click_options(GenerateConfig)
@pass_home
def bon(home: Home, config_file: str | None, resume_ref: str | None, dry_run: bool, progress: bool | None,
        **params: Any) -> None:
    """Best-of-N: n samples per problem, written as one run (completions; token logs with --log-tokens).

    \b
    The run id is derived from the config's identity (model, backend, dataset, sampling, prompt),
    so running the same config again resumes it: problems whose parts are complete are skipped,
    the rest redone; a complete run is left alone. --shard i/k takes every problem whose index mod
    k is i; all shards share the run, which completes when the last shard finishes.

    \b
    Examples:
      ttsw generate bon --config generation/configs/bon_baseline.yaml --max-queries 10
      ttsw generate bon --model Qwen/Qwen2.5-1.5B-Instruct --n 8 --temperature 0.8 --backend vllm
      ttsw generate bon --model M --temperatures 0.4,0.8,1.2,1.6 --n 16 --shard 0/4
      ttsw generate bon --config run.yaml --dry-run --prices input=0.15,output=0.6
    """
    from pathlib import Path

    from generation.config import flags_given, resolve
    from generation.jobs import bon as job

    flags = flags_given(GenerateConfig, params)
    if resume_ref:
        if config_file:
            raise click.UsageError("--resume takes the run's stored config: leave out --config")
        config = _resume_config(home, resume_ref, flags)
    else:
        config = resolve(GenerateConfig, config_file, flags)
    plan = job.plan(config, source_uri=str(Path(config_file).resolve()) if config_file else None)
    if dry_run:
        _print_job_plan(home, plan, job.cost_estimate(plan))
        return
    _run_bon(home, plan, progress)


def _resume_config(home: Home, ref: str, flags: dict[str, Any]) -> GenerateConfig:
    import json

    from generation.config import ConfigError, identity, resolve
    from generation.jobs.bon import run_id_of
    from warehouse.runs import get_run, resolve_run

    run_id = resolve_run(home.require_lake(), ref)
    record = get_run(home, run_id)
    if record.get("source") != "generated" or not record.get("config"):
        raise ConfigError(f"run {run_id} was not written by `ttsw generate`: it has no config to resume from")
    stored = json.loads(record["config"])
    config = resolve(GenerateConfig, None, flags, base=stored, base_source=f"run {run_id}'s stored config")
    if run_id_of(config) != run_id:
        before = resolve(GenerateConfig, None, {}, base=stored)
        changed = [k for k, v in identity(config).items() if identity(before).get(k) != v]
        raise ConfigError(f"--resume {ref}: {', '.join('--' + k.replace('_', '-') for k in changed) or 'the flags'} "
                          "would change what the run generates; start a new run instead (leave out --resume)")
    return config


def _print_job_plan(home: Home, plan, cost: dict | None) -> None:
    from generation.config import to_yaml
    from warehouse.runs import done_keys
    from warehouse.runs import get_run

    config = plan.config
    click.echo(to_yaml(config).rstrip())
    click.echo("---")
    record = get_run(home, plan.run_id) if home.exists() else None
    status = "new"
    if record is not None:
        done = done_keys(home, plan.run_id, "completions", "problem_id")
        status = f"{record['status']} ({sum(p.problem_id in done for p in plan.problems)} of {len(plan.problems)} problems done)"
    click.echo(f"run: {plan.run_id}  {plan.meta['name']}  [{status}]")
    shard = f" (shard {config.shard} of {len(plan.problems)})" if config.shard else ""
    blocks = config.temperature_blocks()
    click.echo(f"problems: {len(plan.mine)}{shard}")
    click.echo(f"requests: {len(plan.mine)} problems x n={config.n} = {plan.samples:,} samples "
               f"({plan.requests:,} prompts: {len(blocks)} per problem, one per temperature block)")
    if cost is not None:
        click.echo(f"cost estimate: ${cost['usd']:,.2f} = {cost['input_tokens']:,} input tokens (prompt characters / 4, "
                   f"once per prompt) x ${config.prices.get('input', 0):g}/1M + {cost['output_tokens']:,} output tokens "
                   f"(n x {cost['output_basis']}) x ${config.prices.get('output', 0):g}/1M")


def _run_bon(home: Home, plan, progress: bool | None) -> None:
    import sys
    import time

    from tqdm import tqdm

    from generation.backends import make_backend
    from generation.config import ConfigError, to_dict
    from generation.jobs.bon import run_bon

    config = plan.config
    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=0, unit="sample", unit_scale=True, disable=not show, dynamic_ncols=True,
               desc=plan.meta["name"][-50:])
    tokens, started = 0, time.perf_counter()

    def on_start(todo: list) -> None:  # the model is loaded: rates count from here
        nonlocal started
        bar.reset(total=len(todo) * config.n)
        started = time.perf_counter()

    def on_answer(request, samples) -> None:
        nonlocal tokens
        tokens += sum(s.num_tokens for s in samples)
        bar.update(len(samples))
        bar.set_postfix_str(f"{tokens / max(time.perf_counter() - started, 1e-9):,.0f} tokens/s", refresh=False)

    def backend():
        try:
            return make_backend(to_dict(config))
        except (ImportError, ValueError, OSError) as exc:  # no vllm, no API key, no such model
            raise ConfigError(f"the {config.backend} backend cannot start: {exc}") from exc

    with bar:
        outcome = run_bon(home, plan, backend, on_start=on_start, on_answer=on_answer)
    seconds = time.perf_counter() - started
    name = plan.meta["name"]
    if outcome.already_complete:
        click.echo(f"run {plan.run_id} ({name}) is already complete: nothing to do")
        return
    samples = outcome.rows.get("completions", 0)
    if outcome.keys_done_before:
        click.echo(f"resumed: {outcome.keys_done_before} problem(s) were already done"
                   + (f", {outcome.orphans_removed} unfinished part(s) removed" if outcome.orphans_removed else ""))
    click.echo(f"wrote {samples:,} samples of {outcome.keys_written} problem(s) in {seconds:.1f} s "
               f"({samples / max(seconds, 1e-9):,.1f} samples/s, {tokens / max(seconds, 1e-9):,.0f} tokens/s)"
               + "".join(f", {rows:,} {table} rows" for table, rows in outcome.rows.items() if table != "completions"))
    if outcome.status == "complete":
        click.echo(f"run {plan.run_id} ({name}) complete")
        click.echo(f"next: `ttsw grade --run {plan.run_id}` to grade the answers, then `ttsw build` for the metrics")
    else:
        click.echo(f"shard {config.shard or '0/1'} done; run {plan.run_id} ({name}) completes when every shard has "
                   f"finished (run the others with the same config and --shard i/k)")


# --- jobs that read an existing run: prm, embed ---------------------------------------------------



def _scoring_options(function):
    function = click.option("--progress/--no-progress", default=None,
                            help="Progress bar.  [default: when stderr is a terminal]")(function)
    function = click.option("--dry-run", is_flag=True,
                            help="Print the resolved config, the run read and how many problems are left; "
                                 "load no model, write nothing.")(function)
    return click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
                        help="YAML config: its keys are the flags below without the dashes; flags override it.")(function)


def _scoring_plan_text(home: Home, plan, table: str) -> None:
    from generation.config import to_yaml
    from generation.jobs.scoring import problem_ids
    from warehouse.runs import done_keys

    click.echo(to_yaml(plan.config).rstrip())
    click.echo("---")
    keys = problem_ids(home, plan.run_id)
    done = done_keys(home, plan.run_id, table, "problem_id", tag=plan.tag)
    click.echo(f"run: {plan.run_id}  {plan.run.get('name')}  ({plan.run.get('model')})")
    click.echo(f"writes: {table} of that run, parts tagged {plan.tag}")
    click.echo(f"problems: {len(keys)}, {sum(k in done for k in keys)} already done")


def _scoring_progress(progress: bool | None, unit: str):
    import sys

    from tqdm import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    return tqdm(total=0, unit=unit, disable=not show, dynamic_ncols=True)


def _scoring_report(outcome, table: str, seconds: float) -> None:
    if outcome.problems_done_before and not outcome.problems_written:
        click.echo(f"nothing to do: {outcome.problems_done_before} problem(s) of run {outcome.run_id} were already done")
        return
    if outcome.problems_done_before:
        click.echo(f"resumed: {outcome.problems_done_before} problem(s) were already done")
    click.echo(f"wrote {outcome.rows:,} {table} rows for {outcome.problems_written} problem(s) of run "
               f"{outcome.run_id} in {seconds:.1f} s")
    click.echo("next: `ttsw build` for the marts")


def _score_run(home: Home, config_class: type, plan_job, run_job, table: str, config_file: str | None,
               params: dict, dry_run: bool, progress: bool | None, describe=None) -> None:
    """The body of the commands that add rows to an existing run (prm, embed): resolve the config,
    plan, then print the plan (--dry-run; `describe` adds a line) or run it with a progress bar."""
    import time

    from generation.config import flags_given, resolve

    config = resolve(config_class, config_file, flags_given(config_class, params))
    plan = plan_job(home, config)
    if dry_run:
        _scoring_plan_text(home, plan, table)
        if describe is not None:
            click.echo(describe(config, plan))
        return
    started = time.perf_counter()
    with _scoring_progress(progress, "problem") as bar:
        outcome = run_job(home, plan, on_start=lambda todo: bar.reset(total=len(todo)), on_part=bar.update)
    _scoring_report(outcome, table, time.perf_counter() - started)


@generate.command("prm", context_settings={"max_content_width": 100})
@_scoring_options
@click_options(PrmConfig)
@pass_home
def prm(home: Home, config_file: str | None, dry_run: bool, progress: bool | None, **params: Any) -> None:
    """Score a run's completions with a PRM, whole and cut at token thresholds (prm_scores).

    \b
    Each completion is cut at tau tokens of the generator's tokenizer for every threshold and,
    with --full, also scored whole; steps are the blocks between blank lines. Kinds: step (one
    score per step) and whole (the partial as one step). The rows carry the scored run's id, so
    the prm_correlation mart joins them to its grades. Running again resumes: problems whose
    parts exist for this configuration are skipped.

    \b
    Examples:
      ttsw generate prm --config generation/configs/prm_score_qwen.yaml --run RUN
      ttsw generate prm --run RUN --prm-model RLHFlow/Llama3.1-8B-PRM-Deepseek-Data --style rlhflow
      ttsw generate prm --run RUN --prm-model M --token-thresholds 128,256 --kinds whole --dry-run
    """
    from generation.jobs import prm as job

    def describe(config: PrmConfig, plan) -> str:
        return (f"scores: {len(config.token_thresholds) + config.full} partial(s) per completion x kinds "
                f"{', '.join(config.kinds)}, generator tokenizer {plan.generator_tokenizer}")

    _score_run(home, PrmConfig, job.plan, job.run_prm, "prm_scores", config_file, params, dry_run, progress, describe)


@generate.command("embed", context_settings={"max_content_width": 100})
@_scoring_options
@click_options(EmbedConfig)
@pass_home
def embed(home: Home, config_file: str | None, dry_run: bool, progress: bool | None, **params: Any) -> None:
    """Embed the reasoning of a run's completions (embeddings).

    \b
    Each completion is split into reasoning and final answer by the markers; the reasoning is
    embedded with a transformers encoder, mean-pooled over its tokens. The rows carry the run's
    id. Running again resumes: problems whose parts exist for this configuration are skipped.

    \b
    Examples:
      ttsw generate embed --run RUN --embedding-model sentence-transformers/all-MiniLM-L6-v2
      ttsw generate embed --run RUN --embedding-model BAAI/bge-small-en-v1.5 --normalize --dry-run
    """
    from generation.jobs import embed as job

    _score_run(home, EmbedConfig, job.plan, job.run_embed, "embeddings", config_file, params, dry_run, progress)


# --- teacher-forced top-k ------------------------------------------------------------------------



@generate.command("topk", context_settings={"max_content_width": 100})
@_scoring_options
@click_options(TopkConfig)
@pass_home
def topk(home: Home, config_file: str | None, dry_run: bool, progress: bool | None, **params: Any) -> None:
    """Teacher-forced top-k of a causal LM over texts, as a run of its own (token_topk).

    \b
    Each text (a local file's --text-field, or the completions of --run) is read in one forward
    pass; at every position t >= 1 the top --top-k ids and probabilities of the next-token
    distribution are kept with the rank of the text's actual token. The run (approach
    teacher_forced) feeds the calibration marts. Running again resumes.

    \b
    Examples:
      ttsw generate topk --model Qwen/Qwen2.5-1.5B-Instruct --dataset texts.jsonl --text-field text
      ttsw generate topk --model M --run RUN --top-k 20 --max-length 1024 --dry-run
      ttsw generate topk --config generation/configs/topk_torchtune.yaml --dataset texts.jsonl
    """
    import time
    from pathlib import Path

    from generation.config import flags_given, resolve, to_yaml
    from generation.jobs import topk as job

    config = resolve(TopkConfig, config_file, flags_given(TopkConfig, params))
    plan = job.plan(home, config, source_uri=str(Path(config_file).resolve()) if config_file else None)
    if dry_run:
        click.echo(to_yaml(config).rstrip())
        click.echo("---")
        click.echo(f"run: {plan.run_id}  {plan.meta['name']}")
        click.echo(f"texts: {plan.texts}, {len(plan.docs)} with two tokens or more; positions: {plan.positions:,}")
        return
    started = time.perf_counter()
    with _scoring_progress(progress, "text") as bar:
        outcome = job.run_topk(home, plan, on_start=lambda todo: bar.reset(total=len(todo)), on_part=bar.update)
    seconds = time.perf_counter() - started
    if outcome.already_complete:
        click.echo(f"run {plan.run_id} ({plan.meta['name']}) is already complete: nothing to do")
        return
    click.echo(f"wrote {outcome.rows.get('token_topk', 0):,} token_topk rows for {outcome.keys_written} text(s) "
               f"in {seconds:.1f} s; run {plan.run_id} ({plan.meta['name']}) {outcome.status}")
    if outcome.status == "complete":
        click.echo("next: `ttsw build --select +calibration_fit` for the calibration marts")


# --- lm-eval -------------------------------------------------------------------------------------



@generate.command("lm-eval", context_settings={"max_content_width": 100})
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
              help="YAML config: its keys are the flags below without the dashes; flags override it.")
@click.option("--dry-run", is_flag=True, help="Print the resolved config, the tasks and the docs count when --limit "
                                               "tells it; load no model, write nothing.")
@click.option("--ingest", "then_ingest", is_flag=True,
              help="Then ingest the output (results, samples and rank logs) into the lake and print the run ids.")
@click_options(LmEvalConfig)
@pass_home
def lm_eval(home: Home, config_file: str | None, dry_run: bool, then_ingest: bool, **params: Any) -> None:
    """Run lm-eval's simple_evaluate (hf or vllm, our decoding rules) and log its samples and rank logs.

    \b
    Writes <output_path>/<model>/results_<time>.json and samples_<task>_<time>.jsonl, as
    `lm_eval --output_path --log_samples` does; with --log-tokens also low_conf_ranks_<task>_<time>.jsonl
    and all_sampled_ranks_<task>_<time>.jsonl (sample_smart_not_hard's rank logs, one line per response).
    --decoding applies our rules on top of each task's temperature/top_p/top_k. --ingest then reads
    it all into the lake (else `ttsw ingest` the folder; rank logs with --format rank-logs --samples).

    \b
    Examples:
      ttsw generate lm-eval --model Qwen/Qwen2.5-1.5B-Instruct --tasks gsm8k --limit 50 --device cuda
      ttsw generate lm-eval --model M --tasks my_task --include-path tasks/ --gen-kwargs temperature=0.8,do_sample=True
      ttsw generate lm-eval --model M --tasks gsm8k --backend vllm --repeats 8 --log-tokens --decoding min_p=0.05 --ingest
    """
    from generation.config import flags_given, resolve, to_yaml

    config = resolve(LmEvalConfig, config_file, flags_given(LmEvalConfig, params))
    ingest = click.get_current_context().meta.get("ttsw.ingest_sources")
    if then_ingest and ingest is None:
        raise click.UsageError("--ingest needs the ttsw command line (`ttsw generate lm-eval ... --ingest`)")
    if dry_run:
        click.echo(to_yaml(config).rstrip())
        click.echo("---")
        click.echo(f"tasks: {', '.join(config.tasks)}  (model {config.model}, backend {config.backend})")
        repeats = f" x {config.repeats} repeats" if config.repeats else " x each task's repeats"
        docs = (f"at most {config.limit} per task, {config.limit * len(config.tasks)} in all{repeats}" if config.limit
                else "all of each task's test docs (not counted without loading the tasks; --limit K caps them)")
        click.echo(f"docs: {docs}")
        click.echo(f"writes: {config.output_path}/<model>/results_<time>.json, samples_<task>_<time>.jsonl"
                   + (", low_conf_ranks_/all_sampled_ranks_<task>_<time>.jsonl" if config.log_tokens else ""))
        return
    from generation.jobs.lm_eval import run_lm_eval

    output = run_lm_eval(config)
    click.echo(f"wrote {output.results} and its samples files")
    for task, logs in output.rank_logs.items():
        click.echo(f"rank logs of {task}: {', '.join(p.name for p in logs)}")
    if not then_ingest:
        click.echo(f"next: `ttsw ingest {output.results.parent}` to read them into the lake")
        return
    for line in ingest(home, output.ingest_sources()):
        click.echo(line)

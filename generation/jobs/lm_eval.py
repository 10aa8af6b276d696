"""The lm-eval job: run lm-eval's `simple_evaluate` (hf or vllm) and write its output folder.

The folder is written by lm-eval's own EvaluationTracker, as `lm_eval --output_path OUT
--log_samples` writes it: OUT/<model>/results_<time>.json and samples_<task>_<time>.jsonl. With
decoding rules or --log-tokens the model is our subclass of lm-eval's (generation.jobs.lm_eval_models);
with --log-tokens it also writes, per generate_until task, the rank logs of sample_smart_not_hard
beside them: low_conf_ranks_<task>_<time>.jsonl and all_sampled_ranks_<task>_<time>.jsonl, one line
per response in the samples file's order. --repeats R sets every task's `repeats`.

This job writes nothing into the lake (generation does not import ingest): it returns an
`LmEvalOutput` whose `ingest_sources()` name what to ingest, which `ttsw generate lm-eval --ingest`
hands to the ingest runner; `ttsw ingest` of the folder does the same by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generation.config import ConfigError, LmEvalConfig


@dataclass
class LmEvalOutput:
    """What one evaluation wrote."""

    results: Path
    samples: dict[str, Path]  # task -> its samples file
    rank_logs: dict[str, list[Path]] = field(default_factory=dict)  # task -> its rank logs

    def ingest_sources(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(source, format, reader options) to ingest: the results file, then each rank log with its samples."""
        return [(str(self.results), "lm-eval", {})] + [
            (str(log), "rank-logs", {"samples": str(self.samples[task])})
            for task, logs in self.rank_logs.items() for log in logs]


def needs_our_model(config: LmEvalConfig) -> bool:
    """Decoding rules or logs need our model subclass; otherwise lm-eval's own model runs."""
    return bool(config.decoding) or config.log_tokens


def model_args(config: LmEvalConfig) -> dict[str, Any]:
    """lm-eval's model_args for the configured backend (also what the results file records)."""
    args: dict[str, Any] = {"pretrained": config.model, "dtype": config.dtype}
    if config.backend == "vllm":
        args.update(tensor_parallel_size=config.tensor_parallel_size,
                    gpu_memory_utilization=config.gpu_memory_utilization, seed=config.seed)
    return args


def engine_args(config: LmEvalConfig) -> dict[str, Any]:
    """vLLM engine options our rules and logs need: the processor, and logprobs under q."""
    from generation.backends.vllm import PROCESSOR

    out: dict[str, Any] = {}
    if config.decoding:
        out["logits_processors"] = [PROCESSOR]
    if config.log_tokens:
        out["logprobs_mode"] = "processed_logprobs"
    return out


def build_model(config: LmEvalConfig):
    """Our subclass of lm-eval's model for the backend, with the config's rules and thresholds."""
    from generation.jobs import lm_eval_models

    hooks = {"decoding": config.decoding,
             "low_conf_threshold": config.low_conf_threshold if config.log_tokens else None,
             "all_sampled_threshold": config.all_sampled_threshold if config.log_tokens else None}
    if config.backend == "vllm":
        try:
            import vllm  # noqa: F401
        except ImportError:
            raise ConfigError("--backend vllm needs vLLM (a GPU machine: pip install 'tts-warehouse[vllm]'); "
                              "use --backend hf on CPU") from None
        return lm_eval_models.vllm_model(**hooks, top_logprobs=1 if config.log_tokens else None,
                                         batch_size=config.batch_size, **model_args(config), **engine_args(config))
    return lm_eval_models.hf_model(**hooks, batch_size=config.batch_size, device=config.device, **model_args(config))


def _args_string(args: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in args.items())


def run_lm_eval(config: LmEvalConfig) -> LmEvalOutput:
    """Evaluate and write the output folder (and rank logs with log_tokens)."""
    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker

    from generation.jobs.lm_eval_models import KINDS, repeats_task_manager, write_rank_logs

    output = Path(config.output_path).expanduser().resolve()
    before = set(output.rglob("results_*.json"))
    tracker = EvaluationTracker(output_path=str(output))
    manager_args = {"include_path": str(Path(config.include_path).expanduser().resolve())} if config.include_path else {}
    manager = repeats_task_manager(config.repeats, **manager_args)
    ours = build_model(config) if needs_our_model(config) else None
    try:
        results = simple_evaluate(
            model=ours if ours is not None else config.backend, model_args=_args_string(model_args(config)),
            tasks=list(config.tasks), device=config.device, batch_size=config.batch_size, limit=config.limit,
            num_fewshot=config.num_fewshot, gen_kwargs=config.gen_kwargs, task_manager=manager, log_samples=True,
            evaluation_tracker=tracker, random_seed=config.seed, numpy_random_seed=config.seed,
            torch_random_seed=config.seed, fewshot_random_seed=config.seed)
    except KeyError as exc:  # lm-eval's answer to an unknown task name
        raise ConfigError(f"--tasks: lm-eval does not know {exc}") from None
    samples = results.pop("samples")
    tracker.save_results_aggregated(results=results, samples=samples)
    for task in results["configs"]:
        tracker.save_results_samples(task_name=task, samples=samples[task])
    written = sorted(set(output.rglob("results_*.json")) - before)
    if not written:
        raise RuntimeError(f"lm-eval wrote no results file under {output}")
    results_path = written[-1]
    time = results_path.stem.removeprefix("results_")
    out = LmEvalOutput(results_path, {task: results_path.parent / f"samples_{task}_{time}.jsonl"
                                      for task in results["configs"]})
    if ours is not None and config.log_tokens:
        kinds = [k for k, t in zip(KINDS, (config.low_conf_threshold, config.all_sampled_threshold)) if t is not None]
        out.rank_logs = write_rank_logs(results_path.parent, time, ours.responses.rank_logs(), kinds)
    return out

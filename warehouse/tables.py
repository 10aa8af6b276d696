"""Table contracts: the Arrow schema of every lake table, with its grain and version.

These names are the contract that dbt staging models, the app and users' SQL rely on
(DESIGN §3). A writer casts incoming data to the schema here; a column the contract does
not know is refused rather than silently dropped. Bump a table's `version` whenever its
schema changes; every part file records the version it was written with.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

WRITER_VERSION = "0.1.0"

_str = pa.string()
_f64 = pa.float64()
_i64 = pa.int64()
_i32 = pa.int32()
_bool = pa.bool_()
_ts = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Table:
    name: str
    schema: pa.Schema
    grain: tuple[str, ...]
    per_run: bool
    version: int = 1
    required: tuple[str, ...] = ()

    @property
    def columns(self) -> list[str]:
        return self.schema.names


def _table(name: str, fields: list[tuple[str, pa.DataType]], grain: tuple[str, ...], *, version: int = 1,
           required: tuple[str, ...] | None = None) -> Table:
    schema = pa.schema(fields)
    return Table(name, schema, grain, per_run="run_id" in schema.names, version=version,
                 required=required if required is not None else grain)


RUNS = _table("runs", [
    ("run_id", _str), ("name", _str), ("source", _str), ("source_format", _str), ("source_uri", _str),
    ("status", _str), ("created_at", _ts), ("updated_at", _ts), ("dataset", _str), ("model", _str),
    ("approach", _str), ("strategy", _str), ("temperature", _f64), ("temperatures", pa.list_(_f64)),
    ("temperature_ratios", pa.list_(_f64)), ("top_p", _f64), ("top_k", _i64), ("min_p", _f64),
    ("n", _i64), ("seed", _i64), ("beam_width", _i64), ("num_iterations", _i64), ("lookahead", _i64),
    ("agg_strategy", _str), ("prm_model", _str), ("decoder", _str), ("decoder_params", _str),
    ("max_tokens", _i64), ("category", _str), ("config", _str), ("notes", _str), ("versions", _str),
    ("error", _str), ("writer", _str),
], grain=("run_id", "updated_at"), version=2, required=("run_id", "status", "source", "updated_at"))

PROBLEMS = _table("problems", [
    ("problem_id", _str), ("dataset", _str), ("original_id", _str), ("problem", _str),
    ("gold_answer", _str), ("gold_solution", _str), ("level", _i64), ("subject", _str), ("split", _str),
], grain=("problem_id",), required=("problem_id", "dataset", "problem"))

COMPLETIONS = _table("completions", [
    ("run_id", _str), ("problem_id", _str), ("sample_idx", _i32), ("temperature", _f64), ("text", _str),
    ("num_tokens", _i32), ("finish_reason", _str), ("source_answer", _str), ("source_is_correct", _bool),
], grain=("run_id", "problem_id", "sample_idx"))

ANSWERS = _table("answers", [
    ("run_id", _str), ("problem_id", _str), ("sample_idx", _i32), ("answer", _str), ("answer_key", _str),
    ("gold_key", _str), ("extractor", _str),
], grain=("run_id", "problem_id", "sample_idx"))

# status: ok, timeout, parse_error, too_long or error (ingest.grading.verify); timeout_s: the
# per-pair limit the verdict was reached under (a `timeout` is retried under a longer one).
VERDICTS = _table("verdicts", [
    ("gold_key", _str), ("answer_key", _str), ("grader", _str), ("grader_version", _str),
    ("is_correct", _bool), ("status", _str), ("seconds", _f64), ("graded_at", _ts), ("timeout_s", _f64),
], grain=("gold_key", "answer_key", "grader", "grader_version"), version=2)

ANSWER_CLUSTERS = _table("answer_clusters", [
    ("problem_id", _str), ("answer_key", _str), ("cluster_id", _str), ("grader", _str),
    ("grader_version", _str),
], grain=("problem_id", "answer_key", "grader", "grader_version"))

# score_kind: what the scores are, 'probability' (in [0, 1]) or 'raw' (any real number: reward-model
# outputs, logits); null when the writer does not know, and the build infers it per run x PRM.
PRM_SCORES = _table("prm_scores", [
    ("run_id", _str), ("problem_id", _str), ("sample_idx", _i32), ("prm_model", _str),
    ("token_threshold", _i32), ("kind", _str), ("step_idx", _i32), ("score", _f64), ("score_kind", _str),
], grain=("run_id", "problem_id", "sample_idx", "prm_model", "token_threshold", "kind", "step_idx"), version=2,
    required=("run_id", "problem_id", "sample_idx", "prm_model", "kind", "step_idx"))

TOKEN_TRACES = _table("token_traces", [
    ("run_id", _str), ("problem_id", _str), ("sample_idx", _i32), ("pos", _i32), ("token_id", _i64),
    ("logprob", _f64), ("rank", _i32), ("top1_prob", _f64), ("entropy", _f64), ("kept_k", _i32),
    ("temperature_eff", _f64), ("topk_ids", pa.list_(_i64)), ("topk_logprobs", pa.list_(pa.float32())),
], grain=("run_id", "problem_id", "sample_idx", "pos"))

TOKEN_TOPK = _table("token_topk", [
    ("run_id", _str), ("doc_idx", _i64), ("pos", _i32), ("gt_token_id", _i64), ("gt_rank", _i32),
    ("top_ids", pa.list_(_i64)), ("top_probs", pa.list_(pa.float32())),
], grain=("run_id", "doc_idx", "pos"))

LM_EVAL_SAMPLES = _table("lm_eval_samples", [
    ("run_id", _str), ("task", _str), ("doc_id", _i64), ("filter", _str), ("repeat_idx", _i32),
    ("target", _str), ("response", _str), ("filtered_response", _str), ("metrics", _str),
    ("exact_match", _f64), ("acc", _f64), ("acc_norm", _f64),
    ("doc_hash", _str), ("prompt_hash", _str), ("target_hash", _str),
], grain=("run_id", "task", "doc_id", "filter", "repeat_idx"))

DECODE_EVENTS = _table("decode_events", [
    ("run_id", _str), ("problem_id", _str), ("sample_idx", _i32), ("kind", _str), ("step", _i32),
    ("rank", _i32), ("prob", _f64),
], grain=("run_id", "problem_id", "sample_idx", "kind", "step"))

EMBEDDINGS = _table("embeddings", [
    ("run_id", _str), ("problem_id", _str), ("sample_idx", _i32), ("embedding_model", _str),
    ("vector", pa.list_(pa.float32())), ("reasoning_text", _str), ("final_answer_text", _str),
], grain=("run_id", "problem_id", "sample_idx", "embedding_model"))

# What an imported source already claimed, kept beside our own numbers so they can be compared:
# search-and-learn's pred_{naive,weighted,maj}@n and pass@k, lm-eval's aggregate metrics, a PRM
# analysis' correlations. `problem_id` is null for run-level claims; `claim` is the source's own name.
SOURCE_CLAIMS = _table("source_claims", [
    ("run_id", _str), ("problem_id", _str), ("claim", _str), ("method", _str), ("n", _i64),
    ("prm_aggregation", _str), ("answer", _str), ("is_correct", _bool), ("value", _f64),
], grain=("run_id", "problem_id", "claim"), required=("run_id", "claim"))

TABLES: dict[str, Table] = {t.name: t for t in (
    RUNS, PROBLEMS, COMPLETIONS, ANSWERS, VERDICTS, ANSWER_CLUSTERS, PRM_SCORES, TOKEN_TRACES,
    TOKEN_TOPK, LM_EVAL_SAMPLES, DECODE_EVENTS, EMBEDDINGS, SOURCE_CLAIMS,
)}


def get_table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown lake table {name!r}; known: {', '.join(TABLES)}") from None

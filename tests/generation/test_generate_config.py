"""Job configs: defaults < YAML < flags, conversion, errors that name the key and its source,
HNC blocks, the identity behind the run id, and one click flag per config key."""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner

from generation.config import (ConfigError, GenerateConfig, config_fields, flag_name, identity, parse_shard,
                               resolve, to_dict)
from generation.jobs.bon import run_id_of


def _yaml(tmp_path, text: str):
    path = tmp_path / "job.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_flags_override_yaml_which_overrides_defaults(tmp_path):
    path = _yaml(tmp_path, "model: some/model\nn: 8\ntop_p: 0.9\nmax_tokens: 256\nstop: [\"\\n\\n\"]\n")
    config = resolve(GenerateConfig, path, {"top_p": 0.95, "max_queries": 50})
    assert (config.model, config.n, config.top_p, config.max_tokens, config.max_queries) == ("some/model", 8, 0.95, 256, 50)
    assert config.stop == ("\n\n",)
    assert config.temperature == 0.8 and config.backend == "hf"  # defaults


def test_flag_strings_are_converted_like_yaml_values():
    config = resolve(GenerateConfig, None, {"model": "m", "n": "6", "temperatures": "0.4, 1.2", "top_k": "20",
                                            "decoding": "min_p=0.05,dynamic_topk=[1,2,3,4,5,6,7,8,9,10]",
                                            "prices": "{input: 0.15, output: 0.6}", "log_tokens": True})
    assert config.n == 6 and config.temperatures == (0.4, 1.2) and config.temperature is None
    assert config.decoding == {"min_p": 0.05, "dynamic_topk": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}
    assert config.prices == {"input": 0.15, "output": 0.6} and config.log_tokens is True


def test_a_flag_temperature_replaces_a_yaml_mixture(tmp_path):
    path = _yaml(tmp_path, "model: m\ntemperatures: [0.4, 0.8]\n")
    assert resolve(GenerateConfig, path).temperatures == (0.4, 0.8)
    config = resolve(GenerateConfig, path, {"temperature": 1.0})
    assert config.temperature == 1.0 and config.temperatures == ()


@pytest.mark.parametrize("text, flags, message", [
    ("model: m\ntop_p: 1.5\n", {}, "job.yaml: key 'top_p' must be in (0, 1], got 1.5"),
    ("model: m\n", {"top_p": 0}, "--top-p must be in (0, 1], got 0.0"),
    ("model: m\nn: four\n", {}, "job.yaml: key 'n' must be an integer, got 'four'"),
    ("model: m\nlog_tokens: 'yes please'\n", {}, "key 'log_tokens' must be true or false"),
    ("model: m\ntopp: 0.9\n", {}, "job.yaml: unknown key 'topp'; did you mean 'top_p'?"),
    ("model: m\nnum_candidates: 4\n", {}, "unknown key 'num_candidates'; here it is called 'n'"),
    ("model: m\ntemperature: 0.5\ntemperatures: [1, 2]\n", {}, "give one of them, not both"),
    ("model: m\ntemperatures: [1, 2]\ntemperature_ratios: [1]\n", {}, "one ratio per temperature"),
    ("model: m\ntemperatures: [0.4, 0.8, 1.2]\nn: 2\n", {}, "n=2 is smaller than the number of temperatures 3"),
    ("model: m\nshard: 2/2\n", {}, "shard '2/2': need 0 <= i < k"),
    ("model: m\ndecoding: {min_p: 2}\n", {}, "decoding rule min_p"),
    ("model: m\ndecoding: {top_k: 5}\n", {}, "top-level keys"),
    ("model: m\n", {"decoding": "{min_p: [1"}, "--decoding cannot read '{min_p: [1'"),
    ("model: m\nbackend: openai\n", {}, "base_url"),
    ("model: m\nbackend: tgi\n", {}, "'tgi' is not one of hf, vllm, openai"),
    ("model: m\nprompt_template: 'Q: {}'\n", {}, "named fields"),
    ("model: m\nprices: {input: 1, outptu: 2}\n", {}, "only 'input' and 'output'"),
    ("n: 4\n", {}, "no model given"),
    ("- a list\n", {}, "a config is a mapping"),
])
def test_errors_name_the_key_and_where_it_came_from(tmp_path, text, flags, message):
    with pytest.raises(ConfigError) as error:
        resolve(GenerateConfig, _yaml(tmp_path, text), flags)
    assert message in str(error.value)


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        resolve(GenerateConfig, tmp_path / "nope.yaml")


@pytest.mark.parametrize("n, temperatures, ratios, blocks", [
    (4, (), (), [(0.8, 4)]),
    (8, (0.4, 0.8, 1.2, 1.6), (), [(0.4, 2), (0.8, 2), (1.2, 2), (1.6, 2)]),
    # cumulative shares 1/4, 2/4, 4/4 of 10: bounds round(2.5) = 2 (half to even), round(5) = 5, 10
    (10, (0.4, 0.8, 1.2), (1, 1, 2), [(0.4, 2), (0.8, 3), (1.2, 5)]),
    # 0.75 of 6 = 4.5 rounds to 4 (half to even); the rest is the second block
    (6, (0.4, 1.2), (0.75, 0.25), [(0.4, 4), (1.2, 2)]),
    # thirds of 7: bounds round(2.33) = 2, round(4.67) = 5, 7
    (7, (0.4, 0.8, 1.2), (), [(0.4, 2), (0.8, 3), (1.2, 2)]),
])
def test_temperature_blocks_by_hand(n, temperatures, ratios, blocks):
    config = resolve(GenerateConfig, None, {"model": "m", "n": n, "temperatures": temperatures,
                                            "temperature_ratios": ratios})
    assert config.temperature_blocks() == blocks


def test_run_id_follows_the_data_not_the_runtime_knobs():
    base = resolve(GenerateConfig, None, {"model": "m"})
    same = resolve(GenerateConfig, None, {"model": "m", "batch_size": 2, "device": "cpu", "shard": "1/3",
                                          "part_size": 5, "name": "renamed", "notes": "x", "concurrency": 3})
    assert run_id_of(base) == run_id_of(same)
    for change in ({"seed": 1}, {"top_p": 0.9}, {"max_queries": 3}, {"system_prompt": "Be brief."},
                   {"log_tokens": True}, {"dtype": "bfloat16"}):
        assert run_id_of(resolve(GenerateConfig, None, {"model": "m", **change})) != run_id_of(base), change
    # the logging settings matter only when tokens are logged
    assert run_id_of(resolve(GenerateConfig, None, {"model": "m", "top_logprobs": 9})) == run_id_of(base)
    logged = {"model": "m", "log_tokens": True}
    assert (run_id_of(resolve(GenerateConfig, None, {**logged, "top_logprobs": 9}))
            != run_id_of(resolve(GenerateConfig, None, logged)))
    assert "shard" not in identity(base) and "device" not in identity(base) and "seed" in identity(base)


def test_every_resolved_value_round_trips_through_a_stored_config():
    config = resolve(GenerateConfig, None, {"model": "m", "temperatures": "0.4,0.8", "decoding": "min_p=0.1",
                                            "stop": "###"})
    assert resolve(GenerateConfig, None, base=to_dict(config)) == config


def test_parse_shard():
    assert parse_shard("1/4") == (1, 4)
    for bad in ("4", "a/b", "-1/2", "2/2"):
        with pytest.raises(ValueError):
            parse_shard(bad)


def test_bon_help_lists_every_config_key_as_a_flag_with_help():
    from ttsw.cli import cli

    result = CliRunner().invoke(cli, ["generate", "bon", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for name, (field, annotation) in config_fields(GenerateConfig).items():
        flag = flag_name(name)
        assert flag in result.output, flag
        first_words = " ".join(field.metadata["help"].split()[:3])
        assert first_words in text, (flag, first_words)
    assert "--log-tokens / --no-log-tokens" in result.output and "--dry-run" in result.output
    assert "--resume" in result.output and "--config" in result.output
    assert len(dataclasses.fields(GenerateConfig)) >= 40

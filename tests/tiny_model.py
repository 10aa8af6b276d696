"""A tiny causal LM for the tests that generate, built here, never downloaded.

A byte-level BPE tokenizer (every string encodes, no unknown tokens) is trained on the first
hundred MATH-500 problems, with special tokens for the chat roles and a chat template; the model
is a 2-layer GPT-2 with random weights (hidden size 32, room for 1024 positions: MATH prompts fit).
The generation tests build it once per session (tests/generation/conftest.py).

(tests/ingest/lm_eval_fixture/build.py builds a similar model, but its word-level tokenizer knows
only its own task's words and its model has 128 positions, too few for MATH prompts.)
"""

from __future__ import annotations

from pathlib import Path

SPECIALS = ["<|pad|>", "<|eos|>", "<|system|>", "<|user|>", "<|assistant|>"]
CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def build_tiny_model(path: Path) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    from warehouse.problems import math500

    texts = math500().column("problem").to_pylist()[:100]
    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    raw.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIALS,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, pad_token="<|pad|>", eos_token="<|eos|>")
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=1024, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.pad_token_id)
    GPT2LMHeadModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path

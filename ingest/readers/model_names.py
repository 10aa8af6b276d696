"""Model names found in file and folder names: `…/meta-llama/Llama-3.2-1B-Instruct/…`,
`hugging-quantsMeta-Llama-3.1-8B-Instruct-AWQ-INT4-_n16…` (a fork that glued the org to the name),
`outputs/Qwen2.5-Math-7B-Instruct/math_eval/…`.

A name is a known model family word (Qwen, Llama, Mistral, …) followed by the rest of its segment, and
it must carry a digit (a size or a version), so an org such as `meta-llama` or a word such as `Llama`
alone is no model. What comes right before it — the parent folder, or letters glued in front — is the
org when it looks like one. Everything here is a guess: callers record it as guessed, so a value the
user gives replaces it.
"""

from __future__ import annotations

import re
from pathlib import PurePath

_FAMILIES = ("Meta-Llama", "Llama", "Qwen", "QwQ", "Mistral", "Mixtral", "Ministral", "gemma", "Phi", "DeepSeek",
             "EXAONE", "SmolLM", "OLMo", "granite", "Falcon", "Yi", "internlm", "GLM", "Skywork", "AceMath",
             "NuminaMath", "Marco", "Sky-T1", "OpenThinker", "Bespoke", "s1", "gpt-oss", "Hermes", "Nemotron")
_FAMILY = re.compile("|".join(sorted((re.escape(f) for f in _FAMILIES), key=len, reverse=True)), re.IGNORECASE)
_ORG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{1,38}$")  # Hub org names: no underscores, so no `beam_search`
_SEPARATORS = "-_. "


def _starts_word(text: str, at: int) -> bool:
    """A family word starts here: at the start, after a separator, or glued after an org (`quantsMeta`)."""
    if at == 0 or text[at - 1] in _SEPARATORS:
        return True
    before, first = text[at - 1], text[at]
    return first.isupper() and (before.islower() or before.isdigit())


def model_in_name(text: str) -> tuple[str | None, str]:
    """(org or None, model) for the first model name in `text`, else (None, "")."""
    for match in _FAMILY.finditer(text):
        if not _starts_word(text, match.start()):
            continue
        name = text[match.start():].strip(_SEPARATORS)
        if not re.search(r"\d", name):
            continue
        org = text[:match.start()].strip(_SEPARATORS) or None
        return (org if org and _ORG.match(org) else None), name
    return None, ""


def model_in_path(path: PurePath, stem: str | None = None,
                  stop_at: tuple[str, ...] = ("data", "outputs", "output", "results")) -> str | None:
    """The model a file's folders or its own name say, e.g. `meta-llama/Llama-3.2-1B-Instruct`.

    Only the folders below the last of `stop_at` (the tools' output roots) are read, else the two
    nearest; the file's name (`stem`, when the caller has cut parameters off it) is read last.
    """
    folders = list(path.parent.parts)
    roots = [i for i, part in enumerate(folders) if part.lower() in stop_at]
    folders = folders[roots[-1] + 1:] if roots else folders[-2:]
    for i, folder in enumerate(folders):
        org, name = model_in_name(folder)
        if not name:
            continue
        if org is None and i > 0 and _ORG.match(folders[i - 1]) and not model_in_name(folders[i - 1])[1]:
            org = folders[i - 1]
        return f"{org}/{name}" if org else name
    org, name = model_in_name(path.stem if stem is None else stem)
    if name:
        return f"{org}/{name}" if org else name
    return None

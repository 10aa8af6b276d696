"""Masking credentials in whatever the warehouse stores or prints: `redact(value)`.

Three rules, applied to every string (a dict, list or tuple is redacted item by item, and a dict
value whose key names a credential is masked whole):

- URL userinfo: `scheme://user:pass@host` and `scheme://token@host` become `scheme://***@host`
  (also in JSON with escaped slashes, `http:\\/\\/user:pass@host`). Userinfo ends at the last `@`
  before the host's end (`/ ? #`, whitespace, quotes), so an unescaped `@` in a password is masked too.
- Authorization schemes: `Basic <token>` and `Bearer <token>` anywhere in a text become
  `Basic ***` / `Bearer ***`, so a header that a server echoes into an error body is masked
  wherever it lands. Free text such as "Basic auth" is masked too: over-masking is the safe side.
- Named values: a credential's name (`authorization`, `api_key`, `api-key`, `apikey`, `x-api-key`,
  `OPENAI_API_KEY`, `access_token`, `refresh_token`, `client_secret`, `secret_key`, `password`,
  any case) followed by `:` or `=` (JSON or Python quotes allowed) has its value masked:
  `"authorization": "xyz"`, `OPENAI_API_KEY=sk-...`, `x-api-key: abc`. A name is matched as a whole
  word (`_` and `-` separate words), so `api_key_env: OPENAI_API_KEY` is left alone: it names a
  variable, not its value.

The patterns run on untrusted server text, so each is linear in the input: every repetition is
either bounded by a fixed set of delimiters that ends it, or starts only at a fixed literal (`://`,
a scheme or a name); none nests quantifiers. Masking is idempotent (`***` is never a secret).
"""

from __future__ import annotations

import re
from typing import TypeVar

MASK = "***"

T = TypeVar("T")

# After `://` (or JSON's `:\/\/`): everything up to the last `@` before the authority ends.
_USERINFO = re.compile(r"""(?:(?<=://)|(?<=:\\/\\/))[^/?#\s"'<>\\]+@""")

_SCHEME_TOKEN = re.compile(r"(?<![A-Za-z0-9])(basic|bearer)(\s+)[A-Za-z0-9._~+/=\\-]+", re.IGNORECASE)

_NAMES = (r"authorization|api[-_]?key|access[-_]?token|refresh[-_]?token|client[-_]?secret|secret[-_]?key"
          r"|password|passwd")
_NAME = re.compile(rf"(?<![A-Za-z0-9])(?:{_NAMES})(?![\w-])", re.IGNORECASE)
_NAMED_VALUE = re.compile(
    rf"""(?P<name>(?<![A-Za-z0-9])(?:{_NAMES})(?![\w-]))"""
    r"""(?P<sep>\\?["']?\s*[:=]\s*)"""
    r"""(?:(?P<quote>\\?["'])(?P<qscheme>(?:basic|bearer|digest)\s+)?(?P<quoted>[^"'\r\n\\]*)"""
    r"""|(?P<scheme>(?:basic|bearer|digest)\s+)?(?P<bare>[^\s"'<>,;&}\]\\]+))""",
    re.IGNORECASE)


def _mask_named(match: re.Match) -> str:
    if match["quote"] is not None:
        value = match["quoted"]
        return match["name"] + match["sep"] + match["quote"] + (match["qscheme"] or "") + (MASK if value else "")
    return match["name"] + match["sep"] + (match["scheme"] or "") + MASK


def redact_text(text: str) -> str:
    """`text` with URL userinfo, Authorization tokens and named credential values masked."""
    text = _USERINFO.sub(MASK + "@", text)
    text = _SCHEME_TOKEN.sub(lambda m: m[1] + m[2] + MASK, text)
    return _NAMED_VALUE.sub(_mask_named, text)


def is_secret_name(name: str) -> bool:
    """Whether a key (of a config, header or environment) names a credential: its value is masked whole."""
    return bool(_NAME.search(name))


def redact(value: T) -> T:
    """`value` with every credential masked: a string by the rules above; a dict, list or tuple
    item by item (a dict key that names a credential masks its non-empty value whole); anything
    else unchanged. Returns a new object; the input is never modified."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: MASK if isinstance(key, str) and is_secret_name(key) and item not in (None, "")
                else redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, tuple):
        items = [redact(item) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)  # a named tuple by its fields
    return value

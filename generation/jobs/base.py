"""What every generation job shares beyond the run writer: reading its `--shard` option.

The writing itself (the run's claim, resumable keyed parts, the run's status) is
`warehouse.runs.write_in_parts`, the one run writer that readers and the simulator use too.
"""

from __future__ import annotations

from warehouse.runs import Shard


def shard_of(text: str | None) -> Shard:
    """The `--shard i/k` option as a Shard (the whole run when not given)."""
    from generation.config import parse_shard

    return Shard(*parse_shard(text)) if text else Shard()

"""Generation jobs: each turns a config into runs in the lake (bon: Best-of-N samples).

They all write through the one run writer, `warehouse.runs`: a claim per run shard, parts named
from their keys, resume of the missing keys, and the run's status events.
"""

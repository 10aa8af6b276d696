"""A union-find (disjoint sets) over hashable labels, for answer clustering."""

from __future__ import annotations

from typing import Hashable, Iterable


class UnionFind:
    def __init__(self, labels: Iterable[Hashable] = ()):
        self._parent: dict[Hashable, Hashable] = {label: label for label in labels}

    def find(self, label: Hashable) -> Hashable:
        # Iterative: a chain of thousands of answers must not hit Python's recursion limit.
        root = self._parent.setdefault(label, label)
        while self._parent[root] != root:
            root = self._parent[root]
        while label != root:  # path compression
            self._parent[label], label = root, self._parent[label]
        return root

    def union(self, a: Hashable, b: Hashable) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self._parent[root_b] = root_a

    def components(self) -> dict[Hashable, list[Hashable]]:
        """Root -> the labels of its set."""
        groups: dict[Hashable, list[Hashable]] = {}
        for label in list(self._parent):
            groups.setdefault(self.find(label), []).append(label)
        return groups

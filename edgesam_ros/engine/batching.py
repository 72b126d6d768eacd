"""Which items share a model call: rows of one call must have the same shape (a SAM-family
decoder must not pad prompts, EdgeTAM's graphs take one memory size per call), and a call holds
at most `size` rows (bounds accelerator memory)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

T = TypeVar("T")


def chunks(items: list[T], size: int) -> list[list[T]]:
    """`items` in order, cut into lists of at most `size`."""
    return [items[start:start + size] for start in range(0, len(items), size)]


def grouped_chunks(items: Iterable[T], key: Callable[[T], Hashable], size: int) -> list[list[T]]:
    """`items` grouped by `key` (groups in first-seen order, items in order within a group),
    each group cut into `chunks` of at most `size`: one model call each."""
    groups: dict[Hashable, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return [chunk for group in groups.values() for chunk in chunks(group, size)]

"""What every format writer is given, and the interface they share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .reader import Frame


@dataclass(frozen=True)
class DatasetInfo:
    root: Path  # where to write (the staged directory)
    final: Path  # where the dataset will be once complete (for paths written into files)
    classes: tuple[str, ...]  # class names; a class's index is its position
    splits: tuple[str, ...]
    source: str  # the bag's name
    max_track_id: int

    def class_index(self, name: str) -> int:
        return self.classes.index(name)


class DatasetWriter(Protocol):
    def add(self, frame: Frame, split: str, frame_index: int) -> None:
        """Write one frame (its image and labels) into `split`."""

    def finish(self) -> None:
        """Write what covers the whole dataset (annotation files, class lists)."""

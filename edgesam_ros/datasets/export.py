"""A segmented bag -> a dataset directory: reading, frame selection, one format writer, summary.

The dataset is staged beside OUT and moved into place only when complete (as the bag tools write
bags), so an interrupted or failed export never leaves half a dataset.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from edgesam_ros.bags.errors import BagError
from edgesam_ros.bags.storage import check_output, open_bag, staged_output

from . import reader
from .coco import CocoWriter
from .layout import DatasetInfo, DatasetWriter
from .masks import MaskWriter
from .selection import ChangeFilter, Selection, candidates, splits
from .yolo import YoloWriter

WRITERS: dict[str, type[DatasetWriter]] = {
    "coco": CocoWriter, "yolo": YoloWriter, "masks": MaskWriter,
}


@dataclass(frozen=True)
class ExportOptions:
    format: str = "coco"
    image_topic: str = "/camera/image_raw"
    segmentation_topic: str | None = None  # None: the bag's only SegmentationArray topic
    selection: Selection = field(default_factory=Selection)
    overwrite: bool = False
    progress: bool = True


@dataclass
class ExportSummary:
    out: Path
    format: str
    images: int = 0  # messages on the image topic
    results: int = 0  # frames with a segmentation result
    candidates: int = 0  # frames left after "has objects" and --every
    classes: tuple[str, ...] = ()
    written: Counter[str] = field(default_factory=Counter)  # frames per split
    annotations: Counter[str] = field(default_factory=Counter)  # per class
    unchanged: int = 0  # frames skipped by --min-change
    counts: reader.ReadCounts = field(default_factory=reader.ReadCounts)

    def annotation_line(self) -> str:
        """"annotations: N (class n, ...)", or why there are none."""
        total = sum(self.annotations.values())
        if not total:
            return ("annotations: 0 (no result holds an object in state new or tracked: "
                    "nothing was prompted, or every object was lost)")
        per_class = ", ".join(f"{name} {self.annotations[name]}" for name in self.classes)
        return f"annotations: {total} ({per_class})"

    def lines(self) -> list[str]:
        """The summary printed at the end of a run."""
        per_split = ", ".join(f"{split} {n}" for split, n in sorted(self.written.items()))
        lines = [
            f"read {self.images} images and {self.results} segmentation results; "
            f"{self.candidates} frames chosen, {sum(self.written.values())} written "
            f"({per_split or 'none'}) -> {self.out} ({self.format})",
        ]
        lines.append(self.annotation_line())
        left = [f"{n} {reason}" for reason, n in sorted(self.counts.left_out.items())]
        if left:
            lines.append(f"objects left out: {', '.join(left)}")
        dropped = [f"{n} {reason}" for reason, n in sorted(self.counts.frames_dropped.items())]
        if self.unchanged:
            dropped.append(f"{self.unchanged} changed less than --min-change")
        if dropped:
            lines.append(f"frames left out: {', '.join(dropped)}")
        return lines


def check_paths(bag: Path, out: Path, overwrite: bool) -> None:
    """BagError for an OUT that exists (without overwrite) or lies in the input bag."""
    resolved = out.resolve()
    if resolved == bag.resolve() or bag.resolve() in resolved.parents:
        raise BagError(f"{out} is inside the input bag: write the dataset elsewhere")
    check_output(out, overwrite)


def export(bag: Path, out: Path, options: ExportOptions) -> ExportSummary:
    """Write the dataset of `bag` into `out` (see the package docstring)."""
    if options.format not in WRITERS:
        raise BagError(f"unknown format {options.format!r}; use one of {', '.join(WRITERS)}")
    check_paths(bag, out, options.overwrite)
    summary = ExportSummary(out, options.format)
    with open_bag(bag) as bag_reader:
        images = reader.image_connections(bag_reader, options.image_topic)
        results = reader.segmentation_connections(bag_reader, options.segmentation_topic)
        found = reader.survey(bag_reader, results)
        summary.images = sum(c.msgcount for c in images)
        summary.results = len(found.objects_per_stamp)
        summary.classes = tuple(found.classes)
        chosen = candidates(found.objects_per_stamp, options.selection)
        summary.candidates = len(chosen)
        split_of = splits(chosen, options.selection)
        frame_index = {s: k for k, s in enumerate(sorted(found.objects_per_stamp))}
        with staged_output(out, options.overwrite) as staged:
            staged.mkdir()
            info = DatasetInfo(staged, out, summary.classes, options.selection.splits,
                               bag.name, found.max_track_id)
            writer = WRITERS[options.format](info)
            changed = ChangeFilter(options.selection.min_change)
            progress = tqdm(total=len(chosen), unit="frame", disable=not options.progress,
                            file=sys.stderr)
            with progress:
                for frame in reader.frames(bag_reader, images, results, set(chosen),
                                           summary.counts):
                    progress.update()
                    if not changed.keep(frame.rgb):
                        summary.unchanged += 1
                        continue
                    split = split_of[frame.stamp_ns]
                    writer.add(frame, split, frame_index[frame.stamp_ns])
                    summary.written[split] += 1
                    summary.annotations.update(i.label for i in frame.instances)
            writer.finish()
    return summary

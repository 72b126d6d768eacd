"""Prompted-segmentation metrics of an engine on scenes: box, 1 point + clicks, RPN recall, speed.

Everything goes through `SamEngine`, so the numbers include the engine's real pre- and
post-processing and its mask selection; any SAM-family encoder/decoder pair can be compared.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from edgesam_ros.engine.engine import SamEngine
from edgesam_ros.engine.types import Embedding, Prompt
from edgesam_ros.scenes.scene import Scene

from .prompts import correction_click, interior_point


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 1.0


def box_ious(boxes: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(P, G) IoU of (P, 4) and (G, 4) x1, y1, x2, y2 boxes."""
    lt = np.maximum(boxes[:, None, :2], gt[None, :, :2])
    rb = np.minimum(boxes[:, None, 2:], gt[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=-1)
    area_p = (boxes[:, 2:] - boxes[:, :2]).prod(axis=-1)
    area_g = (gt[:, 2:] - gt[:, :2]).prod(axis=-1)
    return inter / np.maximum(area_p[:, None] + area_g[None] - inter, 1e-6)


@dataclass
class SegmentationReport:
    """Per-instance IoUs and per-frame timings accumulated over scenes."""

    clicks: int
    box: list[float] = field(default_factory=list)
    #: point[k]: IoUs after 1 + k clicks.
    point: list[list[float]] = field(default_factory=list)
    proposals_hit: int = 0
    gt_boxes: int = 0
    has_proposals: bool = False
    encode_ms: list[float] = field(default_factory=list)
    decode_one_ms: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.point = [[] for _ in range(self.clicks + 1)]

    @property
    def instances(self) -> int:
        return len(self.box)

    def miou_box(self) -> float:
        return float(np.mean(self.box))

    def miou_points(self, clicks: int) -> float:
        """mIoU after 1 + `clicks` clicks."""
        return float(np.mean(self.point[clicks]))

    def rpn_recall(self) -> float | None:
        return self.proposals_hit / self.gt_boxes if self.has_proposals and self.gt_boxes else None


def _decode(engine: SamEngine, embedding: Embedding, prompts: list[Prompt],
            targets: np.ndarray) -> tuple[list[np.ndarray], list[float]]:
    """Full-size masks of one prompt per (K, H, W) target, and their IoUs."""
    preds = [r.full_mask(targets.shape[1:]) for r in engine.decode(embedding, prompts)]
    return preds, [mask_iou(p, t) for p, t in zip(preds, targets, strict=True)]


def evaluate_scene(engine: SamEngine, scene: Scene, report: SegmentationReport,
                   recall_iou: float = 0.5) -> None:
    """Add one scene's instances to `report` (all prompts of a kind in one decode call)."""
    keep = np.flatnonzero(scene.instance_masks.any(axis=(1, 2)))
    masks, boxes = scene.instance_masks[keep], scene.boxes[keep]
    start = time.perf_counter()
    embedding = engine.encode(scene.image)
    report.encode_ms.append((time.perf_counter() - start) * 1e3)
    if embedding.proposals is not None:
        report.has_proposals = True
        report.gt_boxes += len(boxes)
        if len(embedding.proposals.boxes):
            best = box_ious(embedding.proposals.boxes, boxes).max(axis=0)
            report.proposals_hit += int(np.count_nonzero(best >= recall_iou))
    if not len(keep):
        return
    report.box += _decode(engine, embedding, [Prompt.from_box(b) for b in boxes], masks)[1]

    points = [[interior_point(m)] for m in masks]
    labels: list[list[int]] = [[1] for _ in masks]
    start = time.perf_counter()
    engine.decode(embedding, [Prompt.from_points(points[0], labels[0])])
    report.decode_one_ms.append((time.perf_counter() - start) * 1e3)
    for k in range(report.clicks + 1):
        prompts = [Prompt.from_points(np.array(p), np.array(lbl))
                   for p, lbl in zip(points, labels, strict=True)]
        preds, ious = _decode(engine, embedding, prompts, masks)
        report.point[k] += ious
        for i, (pred, target) in enumerate(zip(preds, masks, strict=True)):
            click = correction_click(pred, target)
            if click is not None:
                points[i].append(click[0])
                labels[i].append(click[1])
            else:  # already perfect: repeat the last click so the prompt stays the same
                points[i].append(points[i][-1])
                labels[i].append(labels[i][-1])


def evaluate(engine: SamEngine, scenes: Iterable[Scene], clicks: int) -> SegmentationReport:
    report = SegmentationReport(clicks)
    for scene in scenes:
        evaluate_scene(engine, scene, report)
    return report


def markdown_table(report: SegmentationReport, title: str) -> str:
    """The report as a markdown table (metric, value)."""
    rows = [("instances", f"{report.instances}"),
            ("box mIoU", f"{report.miou_box():.3f}"),
            ("1-point mIoU", f"{report.miou_points(0):.3f}")]
    rows += [(f"1 point + {k} click{'s' if k > 1 else ''} mIoU", f"{report.miou_points(k):.3f}")
             for k in range(1, report.clicks + 1)]
    recall = report.rpn_recall()
    rows.append(("RPN box recall@0.5", "n/a (no RPN outputs)" if recall is None
                 else f"{recall:.3f}"))
    rows.append(("encode ms (median)", f"{np.median(report.encode_ms):.1f}"))
    rows.append(("decode ms, 1 object (median)", f"{np.median(report.decode_one_ms):.1f}"))
    lines = [f"**{title}**", "", "| metric | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)

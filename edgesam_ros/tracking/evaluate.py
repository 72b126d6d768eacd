"""Scoring prompt propagation on procedural sequences, one row per ablation.

Every GT object is prompted with its GT box on the first frame it is visible (objects that enter
later are prompted on their first visible frame, like a detector would start them), then tracked
without further help. Each frame is encoded ONCE and the embedding shared by all ablations, which
run side by side, so an ablation table costs one encoder pass per frame. Metrics and their
conventions are in `metrics`.

`edgesam-ros eval-tracking` calls `main`.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .config import ABLATIONS, TrackerConfig
from .metrics import ObjectMetrics, SequenceScorer
from .objects import UserPrompt
from .tracker import Engine, Tracker


@dataclass(frozen=True)
class AblationScores:
    """One row of the table: means over every object of every sequence."""

    name: str
    objects: int
    jf: float
    j: float
    f: float
    recall: float
    decay: float
    id_switches: int
    recovery_frames: float  # mean over recovered occlusion episodes
    unrecovered: int
    false_positive_frames: int
    invisible_frames: int
    tracker_ms: float  # tracker overhead per frame (prompts, gating, bookkeeping)
    decode_ms: float  # decoder per frame (all objects of the frame in one call)


def _aggregate(
    name: str, metrics: list[ObjectMetrics], tracker_ms: list[float], decode_ms: list[float]
) -> AblationScores:
    scored = [m for m in metrics if m.frames]
    recoveries = [r for m in scored for r in m.recovery_frames]

    def mean(values: Iterable[float]) -> float:
        values = list(values)
        return float(np.mean(values)) if values else math.nan

    return AblationScores(
        name=name,
        objects=len(scored),
        jf=mean(m.jf for m in scored),
        j=mean(m.j for m in scored),
        f=mean(m.f for m in scored),
        recall=mean(m.recall for m in scored),
        decay=mean(m.decay for m in scored),
        id_switches=sum(m.id_switches for m in scored),
        recovery_frames=mean(recoveries),
        unrecovered=sum(m.unrecovered for m in scored),
        false_positive_frames=sum(m.false_positive_frames for m in scored),
        invisible_frames=sum(m.invisible_frames for m in scored),
        tracker_ms=mean(tracker_ms),
        decode_ms=mean(decode_ms),
    )


def evaluate_sequences(
    engine: Engine,
    sequences: Iterable[Iterable],
    ablations: Sequence[str] = tuple(ABLATIONS),
    base: TrackerConfig | None = None,
) -> list[AblationScores]:
    """Track every sequence under every ablation; returns one row per ablation.

    A sequence is an iterable of scenes with `image`, `ids`, `boxes`, `instance_masks` and
    `id_image()` (as `edgesam_ros.scenes` renders them).
    """
    base = base or TrackerConfig()
    metrics: dict[str, list[ObjectMetrics]] = {name: [] for name in ablations}
    tracker_ms: dict[str, list[float]] = {name: [] for name in ablations}
    decode_ms: dict[str, list[float]] = {name: [] for name in ablations}
    for sequence in sequences:
        trackers = {name: Tracker(base.ablation(name)) for name in ablations}
        scorers = {name: SequenceScorer() for name in ablations}
        for scene in sequence:
            embedding = engine.encode(scene.image)
            gt_ids = scene.id_image()
            visible = [
                int(i) for i, m in zip(scene.ids, scene.instance_masks, strict=True) if m.any()
            ]
            for name in ablations:
                tracker, scorer = trackers[name], scorers[name]
                fresh = frozenset(i for i in visible if i not in scorer.objects)
                for gt_id in fresh:
                    box = scene.boxes[list(scene.ids).index(gt_id)]
                    scorer.prompt(gt_id, tracker.add(UserPrompt(box=box, label=str(gt_id))))
                result = tracker.step(engine, scene.image, embedding)
                scorer.add(gt_ids, result.id_image(), skip=fresh)
                tracker_ms[name].append(result.tracker_ms)
                decode_ms[name].append(result.decode_ms)
        for name in ablations:
            metrics[name] += scorers[name].results().values()
    return [_aggregate(n, metrics[n], tracker_ms[n], decode_ms[n]) for n in ablations]


def format_table(rows: list[AblationScores]) -> str:
    """A Markdown table of the ablation rows."""
    header = (
        "| ablation | objects | J&F | J | F | recall | decay | ID sw | recover (fr) | "
        "unrecovered | FP / invisible fr | tracker ms | decode ms |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.objects} | {r.jf:.3f} | {r.j:.3f} | {r.f:.3f} | {r.recall:.3f} | "
            f"{r.decay:+.3f} | {r.id_switches} | {r.recovery_frames:.1f} | {r.unrecovered} | "
            f"{r.false_positive_frames} / {r.invisible_frames} | {r.tracker_ms:.2f} | "
            f"{r.decode_ms:.1f} |"
        )
    return "\n".join(lines)


def load_sequences(preset: str, count: int | None = None, seed: int = 0) -> list:
    """The sequences of scenes preset `preset`: its own number of them, or `count` (seeds seed,
    seed + 1, ...)."""
    from edgesam_ros.scenes import generate_sequence, sequence_preset

    suite = sequence_preset(preset)
    if count is None:
        return suite.generate(seed)
    return [generate_sequence(s, suite.config) for s in range(seed, seed + count)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="edgesam-ros eval-tracking",
        description="J&F, recall, ID switches and recovery of prompt propagation on procedural "
        "sequences, one row per ablation.",
    )
    parser.add_argument("--encoder", help="encoder ONNX (default: the bundled model)")
    parser.add_argument("--decoder", help="decoder ONNX (default: the bundled model)")
    parser.add_argument("--preset", default="benchmark", help="scenes preset (default: benchmark)")
    parser.add_argument(
        "--sequences", type=int, help="number of sequences (default: the preset's own number)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the first sequence")
    parser.add_argument(
        "--ablation",
        choices=("all", "full"),
        default="all",
        help="all: the whole ladder; full: every feature on (default: all)",
    )
    args = parser.parse_args(argv)

    from edgesam_ros.engine import SamEngine

    if (args.encoder is None) != (args.decoder is None):
        parser.error("give both --encoder and --decoder, or neither for the bundled model")
    engine = SamEngine(args.encoder, args.decoder) if args.encoder else SamEngine.bundled()
    ablations = list(ABLATIONS) if args.ablation == "all" else [list(ABLATIONS)[-1]]
    sequences = load_sequences(args.preset, args.sequences, args.seed)
    rows = evaluate_sequences(engine, sequences, ablations)
    print(
        f"{len(sequences)} sequences, preset {args.preset}, engine {engine.info.family} "
        f"({engine.info.decoder_provider})\n"
    )
    print(format_table(rows))
    return 0

"""Scoring prompt propagation on procedural sequences, one row per engine and ablation.

Protocol (it changes the numbers, so it is spelled out):
- every GT object is prompted ONCE, with its exact GT box, on the first frame on which at least
  `prompt_area` of its pixels are visible (objects entering later, or hidden at the start, are
  started when a detector could plausibly see them); it is then tracked without further help;
- frames up to and including an object's prompt frame are not scored (see `metrics`);
- the same sequences run through every engine: the trained model, and the ground-truth
  `oracle.OracleEngine`, whose masks are perfect, so its rows measure the tracker's own errors
  and the gap between the two rows is what the model costs.

Each frame is rendered once and encoded once per engine; the embedding is shared by all
ablations, which run side by side, so an ablation table costs one encoder pass per frame.
Metrics and their conventions are in `metrics`.

`edgesam-ros eval-tracking` calls `main`.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .config import ABLATIONS, TrackerConfig
from .memory_tracker import make_tracker
from .metrics import ObjectMetrics, SequenceScorer
from .objects import UserPrompt
from .oracle import OracleEngine
from .tracker import Engine

#: Visible pixels an object needs before it is prompted (SAM-Track's smallest new object).
PROMPT_AREA = 200
#: The recovery target: occlusions of at most this many frames...
SHORT_OCCLUSION = 15
#: ...recovered within this many frames of the object's reappearance.
QUICK_RECOVERY = 5


@dataclass(frozen=True)
class AblationScores:
    """One row of the table: means over every object of every sequence."""

    engine: str
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
    short_occlusions: int  # episodes of at most SHORT_OCCLUSION frames
    quick_recovered: float  # share of those recovered within QUICK_RECOVERY frames
    false_positive_frames: int
    invisible_frames: int
    tracker_ms: float  # tracker overhead per frame (prompts, gating, bookkeeping)
    decode_ms: float  # decoder per frame (all objects of the frame in one call)


def _aggregate(
    engine: str,
    name: str,
    metrics: list[ObjectMetrics],
    tracker_ms: list[float],
    decode_ms: list[float],
) -> AblationScores:
    scored = [m for m in metrics if m.frames]
    recoveries = [r for m in scored for r in m.recovery_frames]
    short = [e for m in scored for e in m.episodes if e.length <= SHORT_OCCLUSION]
    quick = [e.recovery is not None and e.recovery <= QUICK_RECOVERY for e in short]

    def mean(values: Iterable[float]) -> float:
        values = list(values)
        return float(np.mean(values)) if values else math.nan

    return AblationScores(
        engine=engine,
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
        short_occlusions=len(short),
        quick_recovered=mean(quick),
        false_positive_frames=sum(m.false_positive_frames for m in scored),
        invisible_frames=sum(m.invisible_frames for m in scored),
        tracker_ms=mean(tracker_ms),
        decode_ms=mean(decode_ms),
    )


def evaluate_sequences(
    engines: Mapping[str, Engine],
    sequences: Iterable[Iterable],
    ablations: Sequence[str] = tuple(ABLATIONS),
    base: TrackerConfig | None = None,
    prompt_area: int = PROMPT_AREA,
) -> list[AblationScores]:
    """Track every sequence with every engine under every ablation; one row per pair.

    A sequence is an iterable of scenes with `image`, `ids`, `boxes`, `instance_masks` and
    `id_image()` (as `edgesam_ros.scenes` renders them). An `OracleEngine` is given the GT id
    image to encode, any other engine the image.
    """
    base = base or TrackerConfig()
    runs = [(e, a) for e in engines for a in ablations]
    metrics: dict[tuple[str, str], list[ObjectMetrics]] = {run: [] for run in runs}
    tracker_ms: dict[tuple[str, str], list[float]] = {run: [] for run in runs}
    decode_ms: dict[tuple[str, str], list[float]] = {run: [] for run in runs}
    for sequence in sequences:
        trackers = {(e, a): make_tracker(engines[e], base.ablation(a)) for e, a in runs}
        scorers = {run: SequenceScorer() for run in runs}
        for scene in sequence:
            gt_ids = scene.id_image()
            visible = [
                int(i)
                for i, m in zip(scene.ids, scene.instance_masks, strict=True)
                if np.count_nonzero(m) >= prompt_area
            ]
            for engine_name, engine in engines.items():
                oracle = isinstance(engine, OracleEngine)
                embedding = engine.encode(gt_ids if oracle else scene.image)
                for name in ablations:
                    tracker, scorer = trackers[engine_name, name], scorers[engine_name, name]
                    fresh = frozenset(i for i in visible if i not in scorer.objects)
                    for gt_id in fresh:
                        box = scene.boxes[list(scene.ids).index(gt_id)]
                        scorer.prompt(gt_id, tracker.add(UserPrompt(box=box, label=str(gt_id))))
                    result = tracker.step(engine, scene.image, embedding)
                    scorer.add(gt_ids, result.id_image(), skip=fresh)
                    tracker_ms[engine_name, name].append(result.tracker_ms)
                    decode_ms[engine_name, name].append(result.decode_ms)
        for run in runs:
            metrics[run] += scorers[run].results().values()
    return [_aggregate(*run, metrics[run], tracker_ms[run], decode_ms[run]) for run in runs]


def format_table(rows: list[AblationScores]) -> str:
    """A Markdown table of the rows."""
    header = (
        "| engine | ablation | objects | J&F | J | F | recall | decay | ID sw | recover (fr) | "
        f"unrecovered | occl. <={SHORT_OCCLUSION} fr back in <={QUICK_RECOVERY} | "
        "FP / invisible fr | tracker ms | decode ms |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in rows:
        lines.append(
            f"| {r.engine} | {r.name} | {r.objects} | {r.jf:.3f} | {r.j:.3f} | {r.f:.3f} | "
            f"{r.recall:.3f} | {r.decay:+.3f} | {r.id_switches} | {r.recovery_frames:.1f} | "
            f"{r.unrecovered} | {r.quick_recovered:.0%} of {r.short_occlusions} | "
            f"{r.false_positive_frames} / {r.invisible_frames} | {r.tracker_ms:.2f} | "
            f"{r.decode_ms:.1f} |"
        )
    return "\n".join(lines)


def format_comparison(rows: list[AblationScores]) -> str:
    """J&F per ablation side by side for every engine: the model's cost next to the tracker's."""
    engines = list(dict.fromkeys(r.engine for r in rows))
    jf = {(r.engine, r.name): r.jf for r in rows}
    header = "| ablation | " + " | ".join(f"J&F {e}" for e in engines) + " |"
    lines = [header, "|" + "---|" * (len(engines) + 1)]
    for name in dict.fromkeys(r.name for r in rows):
        cells = " | ".join(f"{jf[e, name]:.3f}" for e in engines)
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines)


def load_sequences(preset: str, count: int | None = None, seed: int = 0) -> list:
    """The sequences of scenes preset `preset`: its own number of them, or `count` (seeds seed,
    seed + 1, ...)."""
    from edgesam_ros.scenes import generate_sequence, sequence_preset

    suite = sequence_preset(preset)
    if count is None:
        return suite.generate(seed)
    return [generate_sequence(s, suite.config) for s in range(seed, seed + count)]


def config_override(text: str) -> tuple[str, object]:
    """`NAME=VALUE` -> (field, value typed like the field's default) of a `TrackerConfig`."""
    name, sep, value = text.partition("=")
    defaults = {f.name: f.default for f in dataclasses.fields(TrackerConfig)}
    if not sep or name not in defaults:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected NAME=VALUE with NAME one of {', '.join(defaults)}"
        )
    kind = type(defaults[name])
    if kind is bool:
        if value.lower() not in ("true", "false"):
            raise argparse.ArgumentTypeError(f"{name} takes true or false, got {value!r}")
        return name, value.lower() == "true"
    try:
        return name, kind(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name} takes {kind.__name__}, got {value!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="edgesam-ros eval-tracking",
        description="J&F, recall, ID switches and recovery of prompt propagation on procedural "
        "sequences, one row per engine (model, ground-truth oracle) and ablation.",
    )
    parser.add_argument("--encoder", help="encoder ONNX (default: the bundled model)")
    parser.add_argument("--decoder", help="decoder ONNX (default: the bundled model)")
    parser.add_argument("--edgetam", metavar="DIR",
                        help="also run EdgeTAM's memory tracker on the graphs in DIR "
                        "(docs/edgetam.md); the tracker settings and ablations do not apply to it")
    parser.add_argument(
        "--oracle",
        action="store_true",
        help="only the ground-truth oracle (the tracker's own errors); default: the model and "
        "the oracle side by side",
    )
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
    parser.add_argument(
        "--prompt-area",
        type=int,
        default=PROMPT_AREA,
        help=f"visible pixels an object needs to be prompted (default: {PROMPT_AREA})",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        metavar="NAME=VALUE",
        type=config_override,
        action="append",
        default=[],
        help="tracker setting for every engine (repeatable), e.g. --set box_margin=0.15 "
        "--set use_points=true for SAM-like segmenters",
    )
    args = parser.parse_args(argv)
    base = TrackerConfig(**dict(args.overrides))

    engines: dict[str, Engine] = {"oracle": OracleEngine()}
    if not args.oracle:
        from edgesam_ros.engine import SamEngine

        if (args.encoder is None) != (args.decoder is None):
            parser.error("give both --encoder and --decoder, or neither for the bundled model")
        model = SamEngine(args.encoder, args.decoder) if args.encoder else SamEngine.bundled()
        engines["model"] = model
        print(f"model: {model.info.family} ({model.info.decoder_provider})")
    if args.edgetam:
        from edgesam_ros.engine.edgetam import EdgeTamFiles, EdgeTamRuntime

        engines["edgetam"] = EdgeTamRuntime(EdgeTamFiles.from_dir(args.edgetam))
    ablations = list(ABLATIONS) if args.ablation == "all" else [list(ABLATIONS)[-1]]
    sequences = load_sequences(args.preset, args.sequences, args.seed)
    rows = evaluate_sequences(engines, sequences, ablations, base, args.prompt_area)
    settings = "".join(f", {name}={value}" for name, value in args.overrides)
    print(f"{len(sequences)} sequences, preset {args.preset}{settings}\n")
    print(format_table(rows))
    if len(engines) > 1:
        print()
        print(format_comparison(rows))
    return 0

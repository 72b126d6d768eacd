"""Prompts for `segment-bag --prompts-file FILE`: objects to start, each on a chosen frame.

```yaml
prompts:
  - frame: 0                  # index of the image in the bag, 0 = the first (default 0)
    label: mug                # class name carried into the results (default: none, "object")
    box: [120, 80, 200, 190]  # x1, y1, x2, y2 pixels
  - frame: 25
    label: cup
    points: [[310, 240], [300, 200, 0]]   # x, y[, 1 foreground (default) or 0 background]
```

Each prompt needs a box, points or both. Problems are reported as one line naming the file, the
prompt (counted from 1) and what is wrong; at most MAX_PROMPTS prompts are accepted.
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from edgesam_ros.tracking import UserPrompt

from .errors import BagError

MAX_PROMPTS = 10_000
KEYS = {"frame", "label", "box", "points"}


def _numbers(values: object, count: int | tuple[int, ...], what: str) -> list[float]:
    counts = (count,) if isinstance(count, int) else count
    if (not isinstance(values, list) or len(values) not in counts
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
            or not all(math.isfinite(v) for v in values)):
        wanted = " or ".join(map(str, counts))
        raise ValueError(f"{what} needs a list of {wanted} finite numbers, got {values!r}")
    return [float(v) for v in values]


def _prompt(entry: object) -> tuple[int, UserPrompt]:
    if not isinstance(entry, dict):
        raise ValueError(f"expected a mapping with {', '.join(sorted(KEYS))}, got {entry!r}")
    unknown = sorted(set(entry) - KEYS)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(KEYS))})")
    frame = entry.get("frame", 0)
    if not isinstance(frame, int) or isinstance(frame, bool) or frame < 0:
        raise ValueError(f"frame must be an image index (0 or more), got {frame!r}")
    label = entry.get("label", "")
    if not isinstance(label, str):
        raise ValueError(f"label must be text, got {label!r}")
    box = _numbers(entry["box"], 4, "box") if "box" in entry else None
    raw_points = entry.get("points", [])
    if not isinstance(raw_points, list):
        raise ValueError(f"points must be a list of [x, y] or [x, y, label], got {raw_points!r}")
    points = [_numbers(p, (2, 3), "a point") for p in raw_points]
    if box is None and not points:
        raise ValueError("a prompt needs a box, points or both")
    if any(len(p) == 3 and p[2] not in (0, 1) for p in points):
        raise ValueError("a point's third value is 1 (foreground) or 0 (background)")
    prompt = UserPrompt(points=[p[:2] for p in points],
                        labels=[int(p[2]) if len(p) == 3 else 1 for p in points],
                        box=box, label=label)
    return frame, prompt


def _one_line(error: yaml.YAMLError) -> str:
    """PyYAML's multi-line message as "problem at line L, column C"."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or "not YAML"
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark else problem


def load(path: Path) -> list[tuple[int, UserPrompt]]:
    """(frame index, prompt) of every prompt in the file, in file order; BagError if unusable."""
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise BagError(f"cannot read the prompts file {path}: {error}") from None
    except yaml.YAMLError as error:
        raise BagError(f"cannot read the prompts file {path}: {_one_line(error)}") from None
    entries = document.get("prompts") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise BagError(f"{path}: expected a list of prompts under the key 'prompts'")
    if len(entries) > MAX_PROMPTS:
        raise BagError(f"{path}: {len(entries)} prompts; at most {MAX_PROMPTS} are accepted")
    prompts = []
    for number, entry in enumerate(entries, start=1):
        try:
            prompts.append(_prompt(entry))
        except ValueError as error:
            raise BagError(f"{path}: prompt {number}: {error}") from None
    return prompts

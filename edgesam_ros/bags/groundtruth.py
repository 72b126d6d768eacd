"""Ground truth that travels with a fixture bag: per-frame id images plus a small JSON index.

Files inside the bag directory (rosbag2 tools ignore files they do not list):
- `groundtruth.npz` (compressed): `id_images` (T, H, W) uint16 (0 = background, else the object
  id, the same id the bag's prompts ask for) and `stamps_ns` (T,) int64 header stamps;
- `groundtruth.json`: topics, object ids, kinds, first prompted frame and box, and the events
  (occlusions, absences, crossings) measured from the exact masks.
Results are matched to frames by header stamp, so dropped frames in a live run are simply absent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BagError

NPZ_NAME = "groundtruth.npz"
JSON_NAME = "groundtruth.json"


@dataclass
class GroundTruth:
    """Exact answers for every frame of a fixture bag."""

    id_images: np.ndarray  # (T, H, W) uint16
    stamps_ns: np.ndarray  # (T,) int64 header stamps of the camera images
    info: dict[str, Any] = field(default_factory=dict)  # the JSON index

    @property
    def ids(self) -> list[int]:
        return [int(obj["id"]) for obj in self.info.get("objects", [])]

    def save(self, directory: Path) -> None:
        np.savez_compressed(
            directory / NPZ_NAME, id_images=self.id_images, stamps_ns=self.stamps_ns
        )
        (directory / JSON_NAME).write_text(json.dumps(self.info, indent=1) + "\n")

    @classmethod
    def load(cls, bag: Path) -> GroundTruth:
        """The ground truth stored in a fixture bag directory; BagError if it has none."""
        try:
            with np.load(bag / NPZ_NAME) as data:
                id_images, stamps = data["id_images"], data["stamps_ns"]
            info = json.loads((bag / JSON_NAME).read_text())
        except (OSError, KeyError, ValueError) as error:
            raise BagError(f"{bag} has no readable ground truth ({error})") from None
        return cls(id_images, stamps.astype(np.int64), info)

"""COCO instance segmentation: `annotations/instances_<split>.json` and `<split>/<stamp>.png`.

The layout of COCO 2017 itself (`annotations/instances_train2017.json` beside `train2017/`), so
pycocotools, Detectron2, MMDetection and supervision read it as they read COCO. Masks are RLE
made by `pycocotools.mask.encode` (Fortran-ordered uint8), with its `toBbox` and `area`, so the
boxes and areas are exactly what pycocotools would compute; `iscrowd` is 0 (every annotation is
one object). Each annotation carries its track id twice: `track_id` (the key of video datasets
such as TAO / COCO-VID, whose images also carry `video_id` and `frame_id`) and
`attributes.track_id` (CVAT's form), so video-aware tools can follow an object across frames.
Category ids are 1-based, in the order of the class list.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from .images import IMAGE_SUFFIX, frame_stem, write_png
from .layout import DatasetInfo
from .reader import Frame


def annotation_path(root: Path, split: str) -> Path:
    return root / "annotations" / f"instances_{split}.json"


def encode(mask: np.ndarray) -> dict:
    """COCO RLE of a bool mask, JSON-ready (counts as text)."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(n) for n in rle["size"]], "counts": rle["counts"].decode("ascii")}


class CocoWriter:
    """Collects images and annotations per split; `finish` writes the JSON files."""

    def __init__(self, info: DatasetInfo) -> None:
        self.info = info
        self._data: dict[str, dict[str, list]] = {
            split: {"images": [], "annotations": []} for split in info.splits
        }
        self._next_image, self._next_annotation = 1, 1

    def add(self, frame: Frame, split: str, frame_index: int) -> None:
        name = frame_stem(frame.stamp_ns) + IMAGE_SUFFIX
        write_png(self.info.root / split / name, frame.rgb)
        height, width = frame.rgb.shape[:2]
        image_id, self._next_image = self._next_image, self._next_image + 1
        self._data[split]["images"].append({
            "id": image_id, "file_name": name, "width": width, "height": height,
            "video_id": 1, "frame_id": frame_index, "stamp_ns": frame.stamp_ns,
        })
        for instance in frame.instances:
            rle = encode(instance.mask)
            self._data[split]["annotations"].append({
                "id": self._next_annotation,
                "image_id": image_id,
                "category_id": self.info.class_index(instance.label) + 1,
                "segmentation": rle,
                "area": int(mask_utils.area(rle)),
                "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                "iscrowd": 0,
                "track_id": instance.track_id,
                "attributes": {"track_id": instance.track_id},
            })
            self._next_annotation += 1

    def finish(self) -> None:
        categories = [{"id": k + 1, "name": name, "supercategory": "object"}
                      for k, name in enumerate(self.info.classes)]
        for split, data in self._data.items():
            document = {
                "info": {"description": f"edgesam-ros dataset of the bag {self.info.source}"},
                "videos": [{"id": 1, "name": self.info.source}],
                "categories": categories,
                **data,
            }
            path = annotation_path(self.info.root, split)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(document))

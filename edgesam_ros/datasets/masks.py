"""Mask images, the input of semantic and instance segmentation pipelines.

Per frame, in `<split>/`: `images/<stamp>.png` (the frame), `instances/<stamp>.png` (16-bit,
0 = background, else the object's track id: the ids of the node's `~/mask` and of the
SegmentationArray) and `classes/<stamp>.png` (0 = background, k = the k-th line of
`classes.txt`, whose line 0 is "background"; 8-bit, 16-bit past 255 classes). Written with
OpenCV; read them back with `cv2.imread(path, cv2.IMREAD_UNCHANGED)`. The node's masks do not
overlap; should a bag's masks overlap, the object listed later in the result wins the pixel.
"""

from __future__ import annotations

import numpy as np

from edgesam_ros.bags.errors import BagError

from .images import IMAGE_SUFFIX, frame_stem, write_png
from .layout import DatasetInfo
from .reader import Frame

BACKGROUND = "background"
MAX_INSTANCE = np.iinfo(np.uint16).max


class MaskWriter:
    def __init__(self, info: DatasetInfo) -> None:
        if info.max_track_id > MAX_INSTANCE:
            raise BagError(f"track id {info.max_track_id} does not fit a 16-bit instance image "
                           f"(ids up to {MAX_INSTANCE}): use --format coco or yolo")
        self.info = info
        self.class_dtype = np.uint8 if len(info.classes) < 256 else np.uint16

    def add(self, frame: Frame, split: str, frame_index: int) -> None:
        name = frame_stem(frame.stamp_ns) + IMAGE_SUFFIX
        shape = frame.rgb.shape[:2]
        instance_image = np.zeros(shape, np.uint16)
        class_image = np.zeros(shape, self.class_dtype)
        for instance in frame.instances:
            instance_image[instance.mask] = instance.track_id
            class_image[instance.mask] = self.info.class_index(instance.label) + 1
        folder = self.info.root / split
        write_png(folder / "images" / name, frame.rgb)
        write_png(folder / "instances" / name, instance_image)
        write_png(folder / "classes" / name, class_image)

    def finish(self) -> None:
        names = (BACKGROUND, *self.info.classes)
        (self.info.root / "classes.txt").write_text("".join(f"{n}\n" for n in names))

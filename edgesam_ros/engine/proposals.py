"""Object proposals from an encoder with an RPN head: threshold, NMS, map to original pixels.

The exported graph returns its top-K boxes before NMS (NMS in ONNX is poorly supported by
TensorRT), so the engine finishes the job here.
"""

from __future__ import annotations

import numpy as np

from edgesam_ros.engine.transforms import LongestSide
from edgesam_ros.engine.types import Proposals


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (4,) box with each of (K, 4) boxes, x1, y1, x2, y2."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, max_count: int) -> np.ndarray:
    """Indices of boxes kept by greedy NMS, best score first, at most `max_count`."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size and len(keep) < max_count:
        best = order[0]
        keep.append(int(best))
        rest = order[1:]
        order = rest[box_iou(boxes[best], boxes[rest]) <= iou_threshold]
    return np.array(keep, dtype=np.int64)


def select_proposals(
    boxes: np.ndarray,
    scores: np.ndarray,
    frame: LongestSide,
    original_size: tuple[int, int],
    score_threshold: float,
    iou_threshold: float,
    max_count: int,
) -> Proposals:
    """Proposals in original pixels from (K, 4) encoder-frame boxes and (K,) scores."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    confident = scores >= score_threshold
    boxes = frame.to_original(boxes[confident], original_size)
    scores = scores[confident]
    h, w = original_size
    boxes = np.clip(boxes, 0, np.array([w, h, w, h], dtype=np.float32))
    keep = nms(boxes, scores, iou_threshold, max_count)
    return Proposals(boxes=boxes[keep].reshape(-1, 4), scores=scores[keep])

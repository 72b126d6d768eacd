"""ROS messages <-> the core's types: prompts in, segmentation / id image / overlay / boxes out.

vision_msgs is optional: `VISION_MSGS` is False when it is not installed, and the two functions that
use it are never called then. Its Humble (4.x) and older (3.x) field layouts are both accepted.
"""

from __future__ import annotations

import cv2
import numpy as np
from geometry_msgs.msg import PointStamped
from sensor_msgs.msg import Image, RegionOfInterest

from edgesam_ros.msg import ObjectPrompt, ObjectPromptArray, ObjectSegmentation, SegmentationArray
from edgesam_ros.tracking import RejectedPrompt, Source, State, TrackedObject, UserPrompt
from edgesam_ros.visualization import draw_instances

from .convert import array_to_image, byte_array
from .session import ACTIONS, DetectionRequest, FrameOutcome, PromptRequest

try:
    from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

    VISION_MSGS = True
except ImportError:  # optional dependency: detections in/out are skipped
    VISION_MSGS = False

_STATES = {
    State.NEW: ObjectSegmentation.STATE_NEW,
    State.TRACKED: ObjectSegmentation.STATE_TRACKED,
    State.LOST: ObjectSegmentation.STATE_LOST,
    State.REMOVED: ObjectSegmentation.STATE_REMOVED,
}
_SOURCES = {
    Source.USER: ObjectSegmentation.SOURCE_USER,
    Source.PROPAGATED: ObjectSegmentation.SOURCE_PROPAGATED,
    Source.PROPOSAL: ObjectSegmentation.SOURCE_PROPOSAL,
    Source.DETECTION: ObjectSegmentation.SOURCE_DETECTION,
}
POSITIVE_COLOR, NEGATIVE_COLOR = (0, 255, 0), (255, 0, 0)


def stamp_ns(header: object) -> int:
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


# ---------------------------------------------------------------------- inputs


def prompt_request(
    msg: ObjectPrompt, fallback_stamp_ns: int = 0, fallback_frame_id: str = ""
) -> PromptRequest:
    """An ObjectPrompt as a session request (an unknown action is kept so it gets rejected);
    stamp and frame_id, when empty, are the enclosing array's."""
    action = ACTIONS[msg.action] if msg.action < len(ACTIONS) else f"action {msg.action}"
    points = np.array([[p.x, p.y] for p in msg.points], np.float32).reshape(-1, 2)
    prompt = UserPrompt(
        points=points,
        labels=np.array([p.label for p in msg.points], np.int32),
        box=np.asarray(msg.box, np.float32) if msg.has_box else None,
        label=msg.label,
        object_id=int(msg.object_id),
        track=bool(msg.track),
    )
    return PromptRequest(action, prompt, stamp_ns(msg.header) or fallback_stamp_ns,
                         msg.header.frame_id or fallback_frame_id)


def prompt_array_requests(msg: ObjectPromptArray) -> list[PromptRequest]:
    """Every prompt of the array; prompts without their own stamp take the array's."""
    return [prompt_request(p, stamp_ns(msg.header), msg.header.frame_id) for p in msg.prompts]


def click_request(msg: PointStamped, label: str = "") -> PromptRequest:
    """A pixel click (rqt_image_view `<image>_mouse_left`) starts a tracked object there,
    labelled `label` (the node's `prompts.click_label`).

    The click's stamp is the viewer's clock, not the image's, so it applies to the next frame.
    """
    prompt = UserPrompt(points=[[msg.point.x, msg.point.y]], labels=[1], label=label)
    return PromptRequest("add", prompt)


def detection_request(msg: Detection2DArray) -> DetectionRequest:
    """Detector boxes as prompts (source DETECTION, label = best hypothesis' class)."""
    prompts = []
    for detection in msg.detections:
        centre = getattr(detection.bbox.center, "position", detection.bbox.center)
        half_w, half_h = detection.bbox.size_x / 2, detection.bbox.size_y / 2
        box = [centre.x - half_w, centre.y - half_h, centre.x + half_w, centre.y + half_h]
        label = ""
        if detection.results:
            best = max(detection.results, key=lambda r: getattr(r, "hypothesis", r).score)
            hypothesis = getattr(best, "hypothesis", best)
            label = str(getattr(hypothesis, "class_id", getattr(hypothesis, "id", "")))
        prompts.append(UserPrompt(box=box, label=label, source=Source.DETECTION))
    return DetectionRequest(tuple(prompts), stamp_ns(msg.header), msg.header.frame_id)


# ---------------------------------------------------------------------- outputs


def _roi(box: np.ndarray | tuple, size: tuple[int, int]) -> RegionOfInterest:
    """Integer ROI of an (x1, y1, x2, y2) box clipped to an image of size (H, W)."""
    h, w = size
    x1, y1, x2, y2 = np.asarray(box, np.float64)
    x1, x2 = (int(np.clip(round(v), 0, w)) for v in (x1, x2))
    y1, y2 = (int(np.clip(round(v), 0, h)) for v in (y1, y2))
    return RegionOfInterest(
        x_offset=x1, y_offset=y1, width=max(x2 - x1, 0), height=max(y2 - y1, 0)
    )


def object_segmentation(
    obj: TrackedObject, size: tuple[int, int], note: str = ""
) -> ObjectSegmentation:
    """One object's result; without a mask on this frame the box is the motion prediction."""
    out = ObjectSegmentation(
        id=obj.id,
        label=obj.label,
        state=_STATES[obj.state],
        source=_SOURCES[obj.source],
        predicted_iou=float(obj.iou_prediction),
        stability_score=float(obj.stability),
        status_message="; ".join(s for s in (obj.status, note) if s),
    )
    if obj.mask is not None and obj.mask.area:
        x1, y1, x2, y2 = obj.mask.box
        out.box = RegionOfInterest(x_offset=x1, y_offset=y1, width=x2 - x1, height=y2 - y1)
        out.area = int(obj.mask.area)
        out.mask = byte_array(obj.mask.mask.view(np.uint8))
    else:
        out.box = _roi(obj.box, size)
    return out


def rejected_segmentation(rejected: RejectedPrompt) -> ObjectSegmentation:
    """A refused request, reported as a STATE_REJECTED object saying why."""
    prompt = rejected.prompt
    source = prompt.source if prompt is not None else Source.USER
    return ObjectSegmentation(
        id=int(rejected.object_id),
        label=prompt.label if prompt is not None else "",
        state=ObjectSegmentation.STATE_REJECTED,
        source=_SOURCES[source],
        status_message=f"{rejected.action} rejected: {rejected.reason}",
    )


def segmentation_array(header: object, outcome: FrameOutcome) -> SegmentationArray:
    """Every object, removal and rejection of one frame (total_ms is set at publishing)."""
    result = outcome.result
    size = result.image_size
    objects = [object_segmentation(o, size, outcome.notes.get(o.id, "")) for o in result.objects]
    objects += [object_segmentation(o, size) for o in result.removed]
    objects += [rejected_segmentation(r) for r in outcome.rejected]
    return SegmentationArray(
        header=header,
        height=size[0],
        width=size[1],
        objects=objects,
        encoder_ms=float(outcome.encode_ms),
        decoder_ms=float(outcome.decode_ms),
    )


def id_image(header: object, ids: np.ndarray) -> Image:
    """The instance-id image, 0 = background: mono8 while every id fits in a byte, mono16 while
    it fits in 16 bits, 32SC1 beyond (a run that has started more than 65535 objects)."""
    top = int(ids.max()) if ids.size else 0
    if top <= np.iinfo(np.uint8).max:
        return array_to_image(ids.astype(np.uint8), "mono8", header)
    if top <= np.iinfo(np.uint16).max:
        return array_to_image(ids.astype(np.uint16), "mono16", header)
    return array_to_image(ids.astype(np.int32), "32SC1", header)


def overlay(
    header: object, rgb: np.ndarray, ids: np.ndarray, outcome: FrameOutcome, alpha: float
) -> Image:
    """The input with coloured masks, outlines, ids and boxes, and this frame's prompt points."""
    visible = [o for o in outcome.result.objects if o.mask is not None and o.mask.area]
    boxes = np.array([o.mask.box for o in visible], np.float32).reshape(-1, 4)
    image = draw_instances(rgb, ids, boxes, [o.id for o in visible], alpha)
    for x, y, label in outcome.prompt_points:
        color = POSITIVE_COLOR if label == 1 else NEGATIVE_COLOR
        if np.isfinite(x) and np.isfinite(y):
            cv2.circle(image, (int(x), int(y)), 4, color, -1, cv2.LINE_AA)
            cv2.circle(image, (int(x), int(y)), 4, (255, 255, 255), 1, cv2.LINE_AA)
    return array_to_image(image, "rgb8", header)


def detections(header: object, objects: list[TrackedObject]) -> Detection2DArray:
    """Objects with a mask on this frame as vision_msgs boxes (score = stability)."""
    out = Detection2DArray(header=header)
    for obj in objects:
        if obj.mask is None or not obj.mask.area:
            continue
        x1, y1, x2, y2 = obj.mask.box
        detection = Detection2D(header=header)
        detection.bbox.size_x, detection.bbox.size_y = float(x2 - x1), float(y2 - y1)
        centre = getattr(detection.bbox.center, "position", detection.bbox.center)
        centre.x, centre.y = (x1 + x2) / 2.0, (y1 + y2) / 2.0
        result = ObjectHypothesisWithPose()
        hypothesis = getattr(result, "hypothesis", result)
        class_field = "class_id" if hasattr(hypothesis, "class_id") else "id"
        setattr(hypothesis, class_field, obj.label or str(obj.id))
        hypothesis.score = float(obj.stability)
        detection.results = [result]
        if hasattr(detection, "id"):
            detection.id = str(obj.id)
        out.detections.append(detection)
    return out

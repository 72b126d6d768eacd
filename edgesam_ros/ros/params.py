"""Every parameter of the segment node: name, default, description, accepted values; one table.

The node declares, validates and documents its parameters from `PARAMS` only, so
`config/segment.yaml`, `docs/node.md`, the launch file test and the runtime checks cannot
disagree. Validation collects every problem at once and names the parameter and what it
accepts: a node that refuses to start says why in one log line instead of stalling or dying in a
traceback.

Defaults of engine and tracker settings come from `EngineConfig` / `TrackerConfig` themselves (a
parameter's `target` names the field), so the node never carries a second copy of those numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import ParameterDescriptor

from edgesam_ros.engine.config import (
    BACKENDS,
    PROVIDER_ALIASES,
    RESIZES,
    SELECTIONS,
    EngineConfig,
)
from edgesam_ros.tracking.config import TrackerConfig
from edgesam_ros.tracking.memory_tracker import MemoryConfig

from .limits import MAX_HEADER_PIXELS, Limits
from .session import Settings

MODES = ("prompt", "auto", "both")
RELIABILITIES = ("best_effort", "reliable")
TRACKER_MODES = ("propagate", "memory")
TRANSPORTS = ("raw", "compressed")


@dataclass(frozen=True)
class Param:
    """One node parameter.

    `dynamic` parameters may change while the node runs (thresholds, switches the worker reads per
    frame); the others take effect at the next configure. `target` is "engine.<field>" or
    "tracker.<field>" when the value is passed straight into that config.
    """

    name: str
    default: Any
    description: str
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    dynamic: bool = False
    target: str = ""

    @property
    def accepted(self) -> str:
        """Human-readable accepted values, used in error messages and descriptors."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.name == "engine.providers":
            return "a list of " + ", ".join(sorted(PROVIDER_ALIASES)) + " or onnxruntime names"
        kind = _kind(self.default)
        if self.low is not None and self.high is not None:
            return f"{kind} in [{self.low}, {self.high}]"
        if self.low is not None:
            return f"{kind} >= {self.low}"
        return kind


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, list | tuple):
        return "a list of strings"
    return "a string"


_E, _T = EngineConfig, TrackerConfig


def _engine(name: str, description: str, **kw: Any) -> Param:
    default = getattr(_E, name)
    default = list(default) if isinstance(default, tuple) else default
    return Param(f"engine.{name}", default, description, target=f"engine.{name}", **kw)


def _triton(name: str, description: str, **kw: Any) -> Param:
    """`engine.triton.<name>`, passed as `EngineConfig.triton_<name>`."""
    return Param(f"engine.triton.{name}", getattr(_E, f"triton_{name}"), description,
                 target=f"engine.triton_{name}", **kw)


def _tracker(name: str, description: str, group: str = "tracker", **kw: Any) -> Param:
    full = f"{group}.{name}" if group else name
    return Param(full, getattr(_T, name), description, target=f"tracker.{name}", dynamic=True, **kw)


PARAMS: tuple[Param, ...] = (
    # --- model and engine (take effect at configure) ---
    Param("model.encoder", "", "EdgeSAM encoder ONNX file; empty = the bundled model."),
    Param("model.decoder", "", "EdgeSAM decoder ONNX file; empty = the bundled model."),
    _engine("providers", "onnxruntime execution providers, in order of preference (CPU always "
            "remains as the last resort)."),
    _engine("device_id", "GPU index for the CUDA and TensorRT providers.", low=0),
    _engine("intra_op_threads", "Threads inside one operator (0 = onnxruntime's default).", low=0),
    _engine("inter_op_threads", "Threads running operators in parallel (0 = default).", low=0),
    _engine("allow_spinning", "Let onnxruntime's threads busy-wait between runs (off: they "
            "would hold the cores the post-processing and callbacks need)."),
    _engine("trt_fp16", "Let TensorRT build FP16 engines."),
    _engine("trt_cache_dir", "Where TensorRT engines are cached (the first run builds them)."),
    _engine("max_decoder_batch", "Most objects per decoder call (bounds GPU memory).", low=1),
    _engine("warmup", "Run one encode and decode at configure so the first frame is not slow."),
    _engine("resize", "Frame resize: pillow is upstream's resize exactly; cv2 is faster but not "
            "exact.", choices=RESIZES),
    _engine("selection", "Mask choice: family = the model family's upstream rule; edgesam, sam "
            "or stability force one (docs/deployment.md).", choices=SELECTIONS),
    _engine("backend", "local: onnxruntime in this node on model.encoder/decoder; triton: the "
            "models of a Triton Inference Server (engine.triton.*; docs/deployment.md).",
            choices=BACKENDS),
    _triton("url", "gRPC address host:port of the Triton server (backend triton)."),
    _triton("encoder_model", "Name of the encoder model in the server's repository."),
    _triton("decoder_model", "Name of the decoder model in the server's repository."),
    _triton("timeout_s", "Seconds one request to the server may take; a frame whose request "
            "fails or times out is dropped and reported.", low=0.001),
    # --- what to segment ---
    Param("mode", "prompt", "prompt: objects from prompts only; auto: objects from the model's "
          "proposals only (prompts are rejected); both: proposals and prompts.",
          choices=MODES, dynamic=True),
    _tracker("max_objects", "Objects alive at once (prompted and automatic).", group="",
             low=1, high=65535),
    Param("autostart", True, "Drive the lifecycle node to active on start-up; false leaves it "
          "unconfigured for a lifecycle manager."),
    # --- auto mode ---
    Param("auto.interval", 10, "Frames between two grid-proposal runs for models without an RPN "
          "head (RPN proposals come with every frame).", low=1, dynamic=True),
    Param("auto.grid_points", 8, "Grid proposals: points per image side (8 = 64 decoder prompts).",
          low=1, high=64, dynamic=True),
    Param("auto.nms_iou", 0.7, "Grid proposals: mask IoU above which the weaker mask is dropped.",
          low=0.0, high=1.0, dynamic=True),
    Param("auto.min_stability", 0.85, "Grid proposals: least stability score of a kept mask.",
          low=0.0, high=1.0, dynamic=True),
    _tracker("min_proposal_score", "Least proposal score that starts an object.", group="auto",
             low=0.0, high=1.0),
    _tracker("min_outside_share", "A new object's mask must lie at least this share outside "
             "every tracked mask (no duplicates).", group="auto", low=0.0, high=1.0),
    _tracker("min_new_area", "Least mask area (pixels) of a new automatic object.", group="auto",
             low=0),
    _tracker("max_new_per_frame", "Proposals decoded per frame for new objects.", group="auto",
             low=0),
    # --- tracking thresholds and propagation ---
    _tracker("min_stability", "Least stability score of an accepted mask.", low=0.0, high=1.0),
    _tracker("min_area", "Fewer mask pixels than this is an empty mask.", low=0),
    _tracker("min_area_ratio", "Least area / previous area of an accepted mask.", low=0.0),
    _tracker("max_area_ratio", "Largest area / previous area of an accepted mask.", low=1.0),
    _tracker("min_box_iou", "Least IoU of a mask's box with the motion prediction.", low=0.0,
             high=1.0),
    _tracker("box_margin", "Propagated prompt box = previous box grown by this fraction per side.",
             low=0.0, high=2.0),
    _tracker("edge_margin", "Margin instead on a side the last mask reached (the object goes on).",
             low=0.0, high=2.0),
    _tracker("lost_after", "Consecutive misses that make an object lost.", low=1),
    _tracker("keep_alive", "Frames a lost object is searched for before it is removed.", low=0),
    _tracker("propagate", "Propagate objects from frame to frame (false: first prompt only)."),
    _tracker("use_points", "Add interior/neighbour points to propagated prompts (SAM-like models: "
             "true, with box_margin 0.15; docs/tracking.md)."),
    _tracker("use_mask_input", "Feed the previous mask logits back (decoders that accept them)."),
    _tracker("use_motion", "Move prompts with a constant-velocity motion model."),
    _tracker("reacquire", "Search for lost objects."),
    # --- memory-based tracking with EdgeTAM (docs/edgetam.md) ---
    Param("tracker.mode", "propagate", "propagate: memory-free EdgeSAM prompt propagation; "
          "memory: EdgeTAM with a memory bank (mode prompt only; the tracker.* thresholds above "
          "do not apply).", choices=TRACKER_MODES),
    Param("tracker.memory.model_dir", "", "Directory of the four EdgeTAM graphs written by "
          "`edgesam-ros export --family edgetam` (needed with tracker.mode memory)."),
    Param("tracker.memory.fp16", False, "Load the *.fp16.onnx graphs of that directory."),
    Param("tracker.memory.max_conditioning_frames", 4, "Prompted frames kept per object in "
          "memory, most recent first (upstream keeps all: unbounded).", low=1, high=64),
    # --- prompts ---
    Param("prompts.queue_depth", 0, "History of the reliable prompt and click subscriptions: 0 = "
          "keep all, so no burst is lost (the node's own queue is bounded by "
          "limits.max_pending_prompts, and what it drops is counted); N = keep the last N, where "
          "DDS drops the older prompts of a larger burst before the node sees them.", low=0),
    Param("prompts.max_age", 5.0, "Prompts whose stamp is older than the newest image by more "
          "than this (seconds) are rejected; younger late prompts apply to the next frame.",
          low=0.0, dynamic=True),
    Param("prompts.max_wait_frames", 30, "A prompt stamped ahead of the images waits at most this "
          "many processed frames for its image, then applies to the current one with a note.",
          low=0, dynamic=True),
    Param("prompts.click_topic", "", "PointStamped pixel clicks that start objects; empty = "
          "<image topic>_mouse_left (what rqt_image_view publishes)."),
    Param("prompts.click_label", "", "Label (class name) of objects started by clicks; empty = "
          "unlabelled (class \"object\" in dataset exports).", dynamic=True),
    Param("prompts.detection_match_iou", 0.5, "Detector boxes overlapping a tracked object's box "
          "by more than this IoU do not start another object.", low=0.0, high=1.0, dynamic=True),
    # --- limits on what one message may ask for (over a limit: refused, logged, counted) ---
    Param("limits.max_points", Limits.max_points, "Points in one prompt, and in one object's "
          "refinements on one frame.", low=1, high=10000, dynamic=True),
    Param("limits.max_prompts", Limits.max_prompts, "Prompts in one ObjectPromptArray, or boxes "
          "in one Detection2DArray; a larger message is refused as a whole.", low=1, high=10000,
          dynamic=True),
    Param("limits.max_label_length", Limits.max_label_length, "Characters of a prompt's label "
          "(copied into every result of the object).", low=0, high=65536, dynamic=True),
    Param("limits.max_image_pixels", Limits.max_image_pixels, "Width x height of an input image, "
          "checked from the message (compressed: from the header) before decoding.", low=1,
          high=MAX_HEADER_PIXELS, dynamic=True),
    Param("limits.max_pending_prompts", Limits.max_pending_prompts, "Prompt requests waiting "
          "for a frame (one per prompt message, click or detection array; each array holds at "
          "most limits.max_prompts); more are dropped and counted (prompts dropped in "
          "diagnostics).", low=1, high=1000000, dynamic=True),
    # --- inputs ---
    Param("image.transport", "raw", "raw: subscribe sensor_msgs/Image on `image`; compressed: "
          "sensor_msgs/CompressedImage on `image/compressed`.", choices=TRANSPORTS),
    Param("image.reliability", "best_effort", "Image subscription reliability (best_effort "
          "accepts every publisher; reliable only reliable ones).", choices=RELIABILITIES),
    Param("image.depth", 1, "Image subscription queue (keep last); the worker takes the newest.",
          low=1, high=100),
    Param("depth.enabled", False, "Subscribe `camera_info` and an aligned `depth` image and "
          "publish every object's points on ~/points."),
    Param("depth.scale", 0.001, "Metres per unit of 16-bit depth images (32FC1 is metres).",
          low=0.0, dynamic=True),
    Param("depth.max_range", 10.0, "Depth beyond this (metres) is not published.", low=0.0,
          dynamic=True),
    Param("depth.max_dt", 0.05, "Largest stamp difference (seconds) between image and depth.",
          low=0.0, dynamic=True),
    # --- outputs ---
    Param("outputs.reliability", "reliable", "Reliability of every output publisher.",
          choices=RELIABILITIES),
    Param("outputs.depth", 5, "Queue depth of every output publisher.", low=1, high=1000),
    Param("outputs.mask", True, "Publish the instance-id image ~/mask.", dynamic=True),
    Param("outputs.overlay", True, "Publish ~/overlay (drawn only while someone subscribes).",
          dynamic=True),
    Param("outputs.detections", True, "Publish vision_msgs Detection2DArray on ~/detections_out "
          "(when vision_msgs is installed).", dynamic=True),
    Param("overlay.alpha", 0.5, "Opacity of the masks in the overlay.", low=0.0, high=1.0,
          dynamic=True),
    Param("diagnostics.period", 1.0, "Seconds between two /diagnostics messages.", low=0.1),
    Param("log_throttle", 5.0, "Seconds between two log lines about the same input problem.",
          low=0.0, dynamic=True),
)

BY_NAME: dict[str, Param] = {p.name: p for p in PARAMS}


class ParameterError(ValueError):
    """One or more parameters are invalid; the message lists each with its accepted values."""


def _acceptable(param: Param, value: Any) -> bool:
    default = param.default
    if isinstance(default, list):
        ok = isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
        if ok and param.name == "engine.providers":
            known = [p.lower() in PROVIDER_ALIASES or p.endswith("ExecutionProvider")
                     for p in value]
            ok = bool(value) and all(known)
        return ok
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        ok = isinstance(value, int | float) and math.isfinite(value)
    else:
        ok = type(value) is type(default)
    if ok and param.choices:
        ok = value in param.choices
    if ok and isinstance(value, int | float):
        above = param.low is None or value >= param.low
        ok = above and (param.high is None or value <= param.high)
    return ok


def problem(param: Param, value: Any) -> str:
    """Why `value` is not acceptable for `param`, or ""."""
    if _acceptable(param, value):
        return ""
    return f"{param.name} = {value!r}: expected {param.accepted}"


def cross_problems(values: Mapping[str, Any], at_configure: bool = True) -> list[str]:
    """Problems that involve several parameters. The model pair is checked only `at_configure`:
    `ros2 param set` changes one parameter at a time, so while the node is unconfigured the pair
    may be half-changed in between."""
    found = []
    if values["tracker.min_area_ratio"] > values["tracker.max_area_ratio"]:
        found.append(
            "tracker.min_area_ratio must not exceed tracker.max_area_ratio "
            f"({values['tracker.min_area_ratio']} > {values['tracker.max_area_ratio']})"
        )
    if at_configure and bool(values["model.encoder"]) != bool(values["model.decoder"]):
        found.append(
            "model.encoder and model.decoder must both be set (your model) or both be empty "
            "(the bundled model)"
        )
    if values["tracker.mode"] == "memory" and not values["tracker.memory.model_dir"]:
        found.append("tracker.mode memory needs tracker.memory.model_dir (the exported EdgeTAM "
                     "graphs, docs/edgetam.md)")
    if values["tracker.mode"] == "memory" and values["mode"] != "prompt":
        found.append(f"tracker.mode memory works with mode prompt only, not {values['mode']!r} "
                     "(EdgeTAM has no proposals)")
    if values["tracker.mode"] == "memory" and values["engine.backend"] != "local":
        found.append("tracker.mode memory runs EdgeTAM's graphs in the node: set engine.backend "
                     "local (the Triton backend serves EdgeSAM encoder/decoder pairs only)")
    return found


def validate(values: Mapping[str, Any], at_configure: bool = True) -> dict[str, Any]:
    """`values` checked and normalised (ints for floats become floats); ParameterError if bad."""
    found = [p for p in (problem(BY_NAME[name], value) for name, value in values.items()) if p]
    if not found:
        found = cross_problems(values, at_configure)
    if found:
        raise ParameterError("invalid parameters: " + "; ".join(found))
    return {
        name: float(v) if isinstance(BY_NAME[name].default, float) else v
        for name, v in values.items()
    }


def _fields(values: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    out = {}
    for param in PARAMS:
        if param.target.startswith(prefix):
            value = values[param.name]
            out[param.target[len(prefix):]] = tuple(value) if isinstance(value, list) else value
    return out


def engine_config(values: Mapping[str, Any]) -> EngineConfig:
    """The engine settings the parameters describe."""
    return EngineConfig(**_fields(values, "engine."))


def tracker_config(values: Mapping[str, Any]) -> TrackerConfig:
    """The tracker settings the parameters describe (auto mode follows `mode`)."""
    return TrackerConfig(auto=values["mode"] != "prompt", **_fields(values, "tracker."))


def unknown_names(names: Iterable[str]) -> list[str]:
    """Names given in a parameter file that the node does not declare (typos)."""
    return sorted(n for n in names if n not in BY_NAME and n != "use_sim_time")


def settings(values: Mapping[str, Any]) -> Settings:
    """The session's run-time settings (the dynamic parameters)."""
    return Settings(
        mode=values["mode"],
        tracker=tracker_config(values),
        auto_interval=values["auto.interval"],
        grid_points=values["auto.grid_points"],
        grid_nms_iou=values["auto.nms_iou"],
        grid_min_stability=values["auto.min_stability"],
        max_prompt_age_ns=int(values["prompts.max_age"] * 1e9),
        detection_match_iou=values["prompts.detection_match_iou"],
        max_wait_frames=values["prompts.max_wait_frames"],
        limits=limits(values),
        memory=MemoryConfig(values["tracker.memory.max_conditioning_frames"],
                            values["engine.max_decoder_batch"]),
    )


def limits(values: Mapping[str, Any]) -> Limits:
    """The `limits.*` parameters as the bounds the session and image conversion apply."""
    return Limits(**{p.name[len("limits."):]: values[p.name]
                     for p in PARAMS if p.name.startswith("limits.")})


def declare(node: Any) -> None:
    """Declare every parameter on `node` with its description and accepted values.

    Parameters are dynamically typed so that a wrong type in a parameter file reaches `validate`
    and gets a message naming the parameter, instead of an exception from the declaration.
    """
    for param in PARAMS:
        node.declare_parameter(param.name, param.default, ParameterDescriptor(
            description=param.description,
            additional_constraints=param.accepted
            + ("" if param.dynamic else " (read at configure)"),
            dynamic_typing=True,
        ))


def current(node: Any) -> dict[str, Any]:
    """Every declared parameter's current value."""
    return {p.name: node.get_parameter(p.name).value for p in PARAMS}


def overrides(node: Any) -> list[str]:
    """Names given to the node by parameter files or the command line."""
    return list(getattr(node, "_parameter_overrides", {}))


def keep_types(node: Any, rejected: Iterable[Any]) -> None:
    """Give the rejected parameters' descriptors back the type of their current values.

    With `dynamic_typing`, rclpy writes a new value's type into the stored descriptor before the
    on-set callback decides, and leaves it there when the callback rejects the value: `ros2 param
    describe` would then report a string type for a parameter whose value is still a double.
    """
    for change in rejected:
        if node.has_parameter(change.name):
            node.describe_parameter(change.name).type = node.get_parameter(change.name).type_.value

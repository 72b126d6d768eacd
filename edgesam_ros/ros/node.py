"""The EdgeSAM segment node: topics, services, parameters and lifecycle wired to the core.

This module only moves data between ROS and `Session` (the ROS-free frame logic): callbacks convert
messages and return at once; one worker thread (`LatestWorker`) converts the newest image, runs
the session and publishes. Lifecycle: configure validates the parameters and loads the model,
activate opens the topics and starts the worker, deactivate stops it and frees the model (the
accelerator memory), cleanup forgets everything. With `autostart` (default) `main` drives the node
to active itself so `ros2 run edgesam_ros segment_node` just works.
"""

from __future__ import annotations

import functools
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import PointStamped
from rcl_interfaces.msg import SetParametersResult
from rclpy.exceptions import InvalidNamespaceException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.impl.implementation_singleton import rclpy_implementation
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.validate_namespace import validate_namespace
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2
from std_srvs.srv import SetBool, Trigger

from edgesam_ros.engine import EngineConfig, InferenceError, ModelError, SamEngine
from edgesam_ros.engine.edgetam import EdgeTamFiles, EdgeTamRuntime
from edgesam_ros.msg import ObjectPrompt, ObjectPromptArray, SegmentationArray

from . import convert, limits, log_bridge, messages, params, pointcloud, qos
from .delivery import StampGaps
from .diagnostics import ProblemLog, Stats, status, status_name
from .session import ClearRequest, Refusal, Session
from .worker import LatestWorker

NODE_NAME = "edgesam"
DEPTH_ENCODINGS = ("16UC1", "mono16", "32FC1")  # millimetres (times depth.scale) or metres
SUCCESS, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE
MODEL_HELP = (
    "Set model.encoder and model.decoder to EdgeSAM ONNX files (official chongzhou96/EdgeSAM "
    "exports or `edgesam-ros export`), or leave both empty for the bundled model; see docs/node.md"
)
TRITON_HELP = (
    "Check engine.triton.url and the model names against the server's repository "
    "(`edgesam-ros triton-repo` writes one); see docs/deployment.md"
)
MEMORY_HELP = (
    "Set tracker.memory.model_dir to the directory `edgesam-ros export --family edgetam` wrote "
    "(tracker.memory.fp16 for its *.fp16.onnx graphs); see docs/edgetam.md"
)


def _logged(transition: Callable) -> Callable:
    """Log a transition's exception: rclpy turns it into ERROR without a word."""

    @functools.wraps(transition)
    def run(node: SegmentNode, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            return transition(node, state)
        except Exception:
            node.get_logger().error(f"{transition.__name__} failed:\n{traceback.format_exc()}")
            return TransitionCallbackReturn.ERROR

    return run


@dataclass(frozen=True)
class Frame:
    """An image message and when it arrived (perf_counter seconds) for latency measurement."""

    msg: Image | CompressedImage
    received: float


class SegmentNode(LifecycleNode):
    """Managed node segmenting camera images with EdgeSAM (see docs/node.md)."""

    def __init__(self, node_name: str = NODE_NAME, **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        params.declare(self)
        self._values: dict[str, Any] = params.current(self)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self._problems = ProblemLog(self.get_logger(), self._values["log_throttle"])
        self._stats = Stats()
        self._gaps = StampGaps()  # frames lost before the node (transport), from header stamps
        self._log_bridge = log_bridge.attach(self.get_logger())  # engine warnings to /rosout
        self._worker: LatestWorker[Frame] = LatestWorker(self._process, self._on_worker_error)
        self._session: Session | None = None
        self._enabled = True
        self._service_handles: list = []
        self._inputs: list = []
        self._outputs: dict[str, Any] = {}
        self._diagnostics_timer = None
        self._image_topic = ""  # the (remapped) `image` name; clicks are <this>_mouse_left
        self._input_topic = ""  # the topic images come from (`image` or `image/compressed`)
        self._camera_info: CameraInfo | None = None
        self._depth: deque[Image] = deque(maxlen=10)
        self._prompts = {"received": 0, "dropped": 0}  # prompt requests, for diagnostics
        self._inference_error = ""  # the last remote inference failure, "" once frames succeed

    # ------------------------------------------------------------------ lifecycle

    def autostart(self) -> bool:
        """configure + activate when `autostart` is set; False if a transition failed."""
        if not self._values["autostart"]:
            self.get_logger().info("autostart is false: waiting for a lifecycle manager")
            return True
        return self.trigger_configure() == SUCCESS and self.trigger_activate() == SUCCESS

    @_logged
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        unknown = [n for n in params.unknown_names(params.overrides(self))
                   if not self.has_parameter(n)]  # rclpy's own (start_type_description_service)
        if unknown:
            self.get_logger().warning(f"ignoring unknown parameters: {', '.join(unknown)}")
        try:
            self._values = params.validate(params.current(self))
        except params.ParameterError as error:
            self.get_logger().error(f"cannot configure: {error}")
            return FAILURE
        engine = self._load_engine()
        if engine is None:
            return FAILURE
        self._session = Session(engine, params.settings(self._values))
        self._service_handles = [
            self.create_service(Trigger, "~/clear", self._on_clear),
            self.create_service(SetBool, "~/enable", self._on_enable),
        ]
        return SUCCESS

    @_logged
    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        if self._session.engine is None:  # freed by deactivate
            self._session.engine = self._load_engine()
            if self._session.engine is None:
                return FAILURE
        self._open_topics()
        self._worker.start()
        self.get_logger().info(
            f"active: segmenting {self._input_topic} in {self._values['mode']} mode on "
            f"{self._session.engine.info.encoder_provider}"
        )
        return SUCCESS

    @_logged
    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._worker.stop()
        self._close_topics()
        self._session.engine = None  # frees the sessions and their accelerator memory
        return SUCCESS

    @_logged
    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        for service in self._service_handles:
            self.destroy_service(service)
        self._service_handles = []
        self._session = None
        return SUCCESS

    @_logged
    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._worker.stop()
        self._close_topics()
        return self.on_cleanup(state)

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self.on_shutdown(state)

    def destroy_node(self) -> None:
        log_bridge.detach(self._log_bridge)
        super().destroy_node()

    def _load_engine(self) -> SamEngine | EdgeTamRuntime | None:
        """The configured model, or None after logging which file failed and what to do."""
        v = self._values
        config = params.engine_config(v)
        try:
            if v["tracker.mode"] == "memory":
                return self._load_edgetam(v, config)
            if v["model.encoder"]:
                engine = SamEngine(v["model.encoder"], v["model.decoder"], config)
            else:
                engine = SamEngine.bundled(config)
        except ModelError as error:
            self.get_logger().error(f"cannot load the model: {error}. {self._model_help(v)}")
            return None
        except Exception as error:  # onnxruntime raises its own types for broken files
            paths = (v["tracker.memory.model_dir"] if v["tracker.mode"] == "memory" else
                     f"{v['model.encoder'] or 'bundled'} / {v['model.decoder'] or 'bundled'}")
            self.get_logger().error(f"cannot load the model {paths}: {error}. "
                                    f"{self._model_help(v)}")
            return None
        info = engine.info
        self.get_logger().info(
            f"loaded {info.family} ({info.encoder_path}, {info.decoder_path}) on "
            f"{info.encoder_provider}/{info.decoder_provider} in {info.load_ms:.0f} ms"
        )
        return engine

    @staticmethod
    def _model_help(v: dict) -> str:
        """What to check, for the parameters that chose the model that failed to load."""
        if v["tracker.mode"] == "memory":
            return MEMORY_HELP
        return TRITON_HELP if v["engine.backend"] == "triton" else MODEL_HELP

    def _load_edgetam(self, v: dict, config: EngineConfig) -> EdgeTamRuntime:
        """The EdgeTAM graphs of `tracker.memory.model_dir` (ModelError for a bad set)."""
        files = EdgeTamFiles.from_dir(v["tracker.memory.model_dir"], v["tracker.memory.fp16"])
        runtime = EdgeTamRuntime(files, config,
                                 min(v["max_objects"], config.max_decoder_batch),
                                 v["tracker.memory.max_conditioning_frames"])
        info = runtime.info
        self.get_logger().info(f"loaded EdgeTAM ({files.image_encoder.parent}) on "
                               f"{info.encoder_provider}/{info.decoder_provider} in "
                               f"{info.load_ms:.0f} ms")
        return runtime

    # ------------------------------------------------------------------ topics

    def _open_topics(self) -> None:
        v = self._values
        image_qos = qos.profile(v["image.reliability"], v["image.depth"])
        prompt_qos = qos.profile("reliable", v["prompts.queue_depth"])
        self._image_topic = self.resolve_topic_name("image")
        if v["image.transport"] == "compressed":
            self._input_topic = self._image_topic + "/compressed"
            self._subscribe(CompressedImage, self._input_topic, self._on_image, image_qos)
        else:
            self._input_topic = self._image_topic
            self._subscribe(Image, "image", self._on_image, image_qos)
        self._subscribe(ObjectPromptArray, "~/prompts", self._on_prompts, prompt_qos)
        self._subscribe(ObjectPrompt, "~/prompt", self._on_prompt, prompt_qos)
        click_topic = v["prompts.click_topic"] or self._image_topic + "_mouse_left"
        self._subscribe(PointStamped, click_topic, self._on_click, prompt_qos)
        if messages.VISION_MSGS:
            self._subscribe(messages.Detection2DArray, "~/detections", self._on_detections,
                            qos.profile("best_effort", 10))
        else:
            self.get_logger().info("vision_msgs is not installed: ~/detections and "
                                   "~/detections_out are disabled")
        if v["depth.enabled"]:
            self._subscribe(CameraInfo, "camera_info", self._on_camera_info, image_qos)
            self._subscribe(Image, "depth", self._on_depth, image_qos)

        out_qos = qos.profile(v["outputs.reliability"], v["outputs.depth"])
        self._publish(SegmentationArray, "~/segmentation", out_qos)
        self._publish(Image, "~/mask", out_qos)
        self._publish(Image, "~/overlay", out_qos)
        if v["depth.enabled"]:
            self._publish(PointCloud2, "~/points", out_qos)
        if messages.VISION_MSGS:
            self._publish(messages.Detection2DArray, "~/detections_out", out_qos)
        self._publish(DiagnosticArray, "/diagnostics", qos.profile("reliable", 10))
        self._diagnostics_timer = self.create_timer(
            v["diagnostics.period"], self._publish_diagnostics
        )

    def _subscribe(self, msg_type: type, topic: str, callback: Any, profile: Any) -> None:
        self._inputs.append(self.create_subscription(
            msg_type, topic, callback, profile,
            event_callbacks=qos.subscription_events(self, topic, profile),
        ))

    def _publish(self, msg_type: type, topic: str, profile: Any) -> None:
        self._outputs[topic] = self.create_publisher(
            msg_type, topic, profile, event_callbacks=qos.publisher_events(self, topic, profile)
        )

    def _close_topics(self) -> None:
        for subscription in self._inputs:
            self.destroy_subscription(subscription)
        for publisher in self._outputs.values():
            self.destroy_publisher(publisher)
        if self._diagnostics_timer is not None:
            self.destroy_timer(self._diagnostics_timer)
        self._inputs, self._outputs, self._diagnostics_timer = [], {}, None

    # ------------------------------------------------------------------ callbacks (never block)

    def _on_image(self, msg: Image | CompressedImage) -> None:
        self._stats.on_received()
        self._gaps.on_stamp(messages.stamp_ns(msg.header))
        if self._enabled and self._worker.offer(Frame(msg, time.perf_counter())):
            self._stats.on_dropped()

    def _submit(self, convert_message: Any, msg: Any, kind: str) -> None:
        """Queue the request(s) made from `msg`; a malformed message is logged, not raised."""
        try:
            requests = convert_message(msg)
        except (ValueError, TypeError, IndexError) as error:
            self._problems.warn(kind, f"ignoring a malformed {kind} message: {error}")
            return
        for request in requests if isinstance(requests, list) else [requests]:
            self._queue(request)

    def _queue(self, request: Any) -> None:
        """Hand a prompt request to the session; one it has no room for is counted and logged."""
        self._prompts["received"] += 1
        if not self._session.submit(request):
            self._prompts["dropped"] += 1
            self._problems.warn("prompt queue", "dropping a prompt: limits.max_pending_prompts "
                                "prompts already wait for a frame")

    def _refused(self, count: int, what: str) -> bool:
        """Refuse a message with more than `limits.max_prompts` prompts before converting it;
        the refusal is logged and counted once, with the frame's other rejected prompts."""
        problem = limits.count_problem(count, what, params.limits(self._values))
        if problem:
            self._queue(Refusal("add", problem))
        return bool(problem)

    def _on_prompts(self, msg: ObjectPromptArray) -> None:
        if not self._refused(len(msg.prompts), "prompts"):
            self._submit(messages.prompt_array_requests, msg, "prompt")

    def _on_prompt(self, msg: ObjectPrompt) -> None:
        self._submit(messages.prompt_request, msg, "prompt")

    def _on_click(self, msg: PointStamped) -> None:
        label = self._values["prompts.click_label"]
        self._submit(lambda m: messages.click_request(m, label), msg, "click")

    def _on_detections(self, msg: Any) -> None:
        if not self._refused(len(msg.detections), "detections"):
            self._submit(messages.detection_request, msg, "detection")

    def _on_camera_info(self, msg: CameraInfo) -> None:
        self._camera_info = msg

    def _on_depth(self, msg: Image) -> None:
        self._depth.append(msg)

    def _on_clear(self, request: Trigger.Request, response: Trigger.Response) -> Any:
        count = self._session.object_count
        self._session.submit(ClearRequest())
        response.success = True
        response.message = f"removing {count} object(s) on the next frame"
        return response

    def _on_enable(self, request: SetBool.Request, response: SetBool.Response) -> Any:
        self._enabled = bool(request.data)
        response.success = True
        response.message = (
            "processing enabled" if self._enabled
            else "processing disabled: images are ignored, the model stays loaded"
        )
        self.get_logger().info(response.message)
        return response

    def _on_set_parameters(self, changes: Sequence[rclpy.parameter.Parameter]) -> Any:
        """`_check_parameters`, and a rejected change leaves the declared type as it was."""
        result = self._check_parameters(changes)
        if not result.successful:
            params.keep_types(self, changes)
        return result

    def _check_parameters(self, changes: Sequence[rclpy.parameter.Parameter]) -> Any:
        """Validate changes; dynamic ones reach the worker, static ones wait for configure."""
        values = dict(self._values)
        for change in changes:
            spec = params.BY_NAME.get(change.name)
            if spec is None:
                continue
            if not spec.dynamic and self._session is not None:
                return SetParametersResult(successful=False, reason=(
                    f"{change.name} is read at configure: deactivate and clean up the node, "
                    "set it, then configure again"))
            values[change.name] = change.value
        try:
            values = params.validate(values, at_configure=False)  # the model pair: at configure
        except params.ParameterError as error:
            return SetParametersResult(successful=False, reason=str(error))
        self._values = values
        self._problems.throttle_s = values["log_throttle"]
        if self._session is not None:
            self._session.submit(params.settings(values))
        return SetParametersResult(successful=True)

    # ------------------------------------------------------------------ worker thread

    def _on_worker_error(self, error: BaseException) -> None:
        if isinstance(error, InferenceError):  # server down or slow: drop, retry on the next
            self._inference_error = str(error)
            self._stats.on_dropped()
            self._problems.warn("inference", f"frame dropped: {error}")
            return
        self._problems.warn("processing", f"a frame failed: {type(error).__name__}: {error}")

    def _process(self, frame: Frame) -> None:
        try:
            image, color = convert.message_to_engine_image(
                frame.msg, params.limits(self._values), self._session.engine.info.image_size)
        except convert.ImageError as error:
            self._problems.warn("image", f"skipping an image from {self._input_topic}: {error}")
            return
        header = frame.msg.header
        outcome = self._session.process(image, color, messages.stamp_ns(header), header.frame_id)
        if self._inference_error:
            self._inference_error = ""
            self.get_logger().info("inference works again: segmenting")
        result = messages.segmentation_array(header, outcome)
        for rejected in outcome.rejected:
            self._problems.warn("prompt", f"{rejected.action} of object {rejected.object_id} "
                                f"rejected: {rejected.reason}")
        result.total_ms = (time.perf_counter() - frame.received) * 1e3
        self._outputs["~/segmentation"].publish(result)
        self._stats.on_processed(outcome.encode_ms, outcome.decode_ms, result.total_ms)
        self._publish_images(header, image, color, outcome)

    def _publish_images(self, header: Any, image: np.ndarray, color: str, outcome: Any) -> None:
        """The id image, overlay, points and boxes, each only when switched on (and wanted)."""
        v, pubs = self._values, self._outputs
        ids = outcome.result.id_image()
        if v["outputs.mask"]:
            pubs["~/mask"].publish(messages.id_image(header, ids))
        if v["outputs.overlay"] and pubs["~/overlay"].get_subscription_count():
            rgb = convert.to_rgb(image, color)
            pubs["~/overlay"].publish(
                messages.overlay(header, rgb, ids, outcome, v["overlay.alpha"])
            )
        if "~/points" in pubs:
            self._publish_points(header, ids)
        if v["outputs.detections"] and "~/detections_out" in pubs:
            pubs["~/detections_out"].publish(messages.detections(header, outcome.result.objects))

    def _publish_points(self, header: Any, ids: np.ndarray) -> None:
        v = self._values
        stamp = messages.stamp_ns(header)
        depth = min(self._depth, key=lambda d: abs(messages.stamp_ns(d.header) - stamp),
                    default=None)
        if self._camera_info is None or depth is None or (
            abs(messages.stamp_ns(depth.header) - stamp) > v["depth.max_dt"] * 1e9
        ):
            self._problems.warn("depth", "no camera_info or no depth image within depth.max_dt "
                                f"({v['depth.max_dt']} s) of the image: ~/points skipped")
            return
        k = np.asarray(self._camera_info.k, np.float64).reshape(3, 3)
        if not (np.all(np.isfinite(k)) and k[0, 0] > 0 and k[1, 1] > 0):
            self._problems.warn("depth", f"camera_info has no usable intrinsics (K = "
                                f"{k.ravel().tolist()}): ~/points skipped")
            return
        if depth.encoding not in DEPTH_ENCODINGS:
            self._problems.warn("depth", f"depth image encoding {depth.encoding!r} is not one of "
                                f"{', '.join(DEPTH_ENCODINGS)}: ~/points skipped")
            return
        try:
            depth_image = convert.image_to_array(depth)
        except convert.ImageError as error:
            self._problems.warn("depth", f"skipping a depth image: {error}")
            return
        if depth_image.shape[:2] != ids.shape:
            self._problems.warn("depth", f"depth image is {depth_image.shape[1]}x"
                                f"{depth_image.shape[0]}, the image {ids.shape[1]}x{ids.shape[0]}:"
                                " ~/points needs depth aligned to the image at its size; skipped")
            return
        metres = pointcloud.depth_in_metres(depth_image, v["depth.scale"])
        points = pointcloud.object_points(ids, metres, k, v["depth.max_range"])
        self._outputs["~/points"].publish(pointcloud.pack(header, points))

    def _publish_diagnostics(self) -> None:
        values = self._stats.values()
        received = float(values["input rate (Hz)"])
        engine = self._session.engine if self._session else None
        values.update({
            "image topic": self._input_topic,
            "mode": self._values["mode"],
            "enabled": str(self._enabled),
            "provider": engine.info.encoder_provider if engine else "not loaded",
            "objects": str(self._session.object_count if self._session else 0),
            **{f"prompts {k}": str(n) for k, n in self._prompts.items()},
            **({"largest object memory (kB)": f"{self._session.memory_bytes / 1024:.1f}"}
               if self._session and self._session.memory_bytes is not None else {}),
            **self._problems.values(),
            **self._gaps.values(),
        })
        if not self._enabled:
            level, message = DiagnosticStatus.OK, "disabled (~/enable)"
        elif self._inference_error:
            level, message = DiagnosticStatus.ERROR, (
                f"inference failing, frames are dropped: {self._inference_error}")
        elif received == 0.0:
            level, message = DiagnosticStatus.WARN, (
                f"no images on {self._input_topic}: check the topic, and image.reliability "
                "against the camera's QoS"
            )
        elif warning := self._gaps.loss_warning():
            level, message = DiagnosticStatus.WARN, warning
        else:
            level, message = DiagnosticStatus.OK, "segmenting"
        array = DiagnosticArray()
        array.header.stamp = self.get_clock().now().to_msg()
        # The namespaced name tells the cameras apart when several nodes share /diagnostics.
        name = status_name(self.get_fully_qualified_name())
        array.status = [status(name, values["provider"], level, message, values)]
        self._outputs["/diagnostics"].publish(array)


def main(argv: Sequence[str] | None = None) -> int:
    """`ros2 run edgesam_ros segment_node [--namespaces /cam1,/cam2] [--ros-args ...]`: run until
    Ctrl-C.

    `--namespaces` runs one node per camera namespace in this one process (one executor; each
    node keeps its own worker thread, tracker, prompts, ids and diagnostics), as composing the
    nodes in one container would: on a small CPU the cameras then share one process' memory and
    cores instead of contending as separate processes (`edgesam-ros bench triton --layouts`,
    docs/deployment.md). Parameters apply to every node unless a params file names one
    (`/cam1/edgesam:`); topics resolve in each node's namespace (`/cam1/image`, ...).
    """
    args = list(argv or [])
    try:
        namespaces = _pop_namespaces(args)
        rclpy.init(args=["segment_node", *args])
    except ValueError as error:
        print(f"segment_node: {error}", file=sys.stderr)
        return 2
    except rclpy_implementation.RCLError as error:  # e.g. a missing or unparsable --params-file
        reason = str(error).split(", at /")[0]  # rcl appends its C source locations
        print(f"segment_node: cannot start: {reason}", file=sys.stderr)
        return 2
    nodes = [SegmentNode(namespace=ns) for ns in namespaces] if namespaces else [SegmentNode()]
    executor = SingleThreadedExecutor()
    for node in nodes:
        executor.add_node(node)
    try:
        failed = [node for node in nodes if not node.autostart()]
        if failed:
            for node in failed:
                node.get_logger().fatal("start-up failed (see the errors above)")
            return 1
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        for node in nodes:
            node.on_shutdown(None)
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


def _pop_namespaces(args: list[str]) -> list[str]:
    """Remove `--namespaces A,B` (before any `--ros-args`) from `args`; the namespaces, each
    absolute, or [] for one node as named by the ROS arguments. ValueError for a bad list."""
    end = args.index("--ros-args") if "--ros-args" in args else len(args)
    if "--namespaces" not in args[:end]:
        return []
    at = args.index("--namespaces")
    if at + 1 >= end:
        raise ValueError("--namespaces needs a comma-separated list, e.g. /cam1,/cam2")
    names = [n.strip() for n in args[at + 1].split(",") if n.strip()]
    del args[at:at + 2]
    namespaces = [n if n.startswith("/") else f"/{n}" for n in names]
    if not namespaces or len(set(namespaces)) != len(namespaces):
        raise ValueError(f"--namespaces {','.join(names)}: give distinct namespaces, e.g. "
                         "/cam1,/cam2")
    for namespace in namespaces:
        try:
            validate_namespace(namespace)
        except InvalidNamespaceException as error:
            reason = str(error).splitlines()[0].removeprefix("Invalid namespace: ").rstrip(":")
            raise ValueError(f"--namespaces {namespace}: {reason}") from None
    return namespaces

"""Opening onnxruntime sessions on the best execution provider that actually works.

onnxruntime silently drops a provider it cannot load; on a robot that turns a 10 ms GPU decoder
into a 300 ms CPU one with no trace. Here every provider that is missing from the build or fails
to load gets one warning on the `edgesam_ros.engine` logger, and the provider each session really
runs on is reported back.
"""

from __future__ import annotations

import logging
from pathlib import Path

import onnxruntime as ort

from edgesam_ros.engine.config import EngineConfig

log = logging.getLogger("edgesam_ros.engine")

CPU = "CPUExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"


def session_options(config: EngineConfig) -> ort.SessionOptions:
    """Thread counts, thread spinning and full graph optimisation."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = config.intra_op_threads
    options.inter_op_num_threads = config.inter_op_threads
    spinning = "1" if config.allow_spinning else "0"
    options.add_session_config_entry("session.intra_op.allow_spinning", spinning)
    options.add_session_config_entry("session.inter_op.allow_spinning", spinning)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def trt_profile(ranges: dict[str, list[tuple[int, int, int]]]) -> dict[str, str]:
    """TensorRT optimisation-profile options from per-input (min, opt, max) ranges of each axis.

    Without a profile, the TensorRT provider rebuilds its engine whenever a dynamic input grows
    (new object count or prompt length), which stalls a live stream for seconds.
    """
    if not ranges:
        return {}
    options = {}
    for key, which in (("min", 0), ("opt", 1), ("max", 2)):
        shapes = ",".join(
            f"{name}:{'x'.join(str(axis[which]) for axis in axes)}" for name, axes in ranges.items()
        )
        options[f"trt_profile_{key}_shapes"] = shapes
    return options


class ProviderChain:
    """The configured providers that this onnxruntime build has, in order, CPU last."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        available = set(ort.get_available_providers())
        requested = config.provider_names
        self.names = [p for p in requested if p in available]
        for position, name in enumerate(requested):
            if name not in available:
                fallback = next((p for p in requested[position + 1:] if p in available), CPU)
                log.warning(
                    "execution provider %s is not available in this onnxruntime build "
                    "(available: %s); falling back to %s",
                    name, ", ".join(sorted(available)), fallback,
                )
        if CPU not in self.names:
            self.names.append(CPU)
        self._failed: set[str] = set()

    def _options(self, name: str, profile: dict[str, str]) -> dict[str, str | int | bool]:
        config = self.config
        if name == TENSORRT:
            cache = Path(config.trt_cache_dir).expanduser()
            cache.mkdir(parents=True, exist_ok=True)
            return {
                "device_id": config.device_id,
                "trt_fp16_enable": config.trt_fp16,
                "trt_engine_cache_enable": True,
                "trt_engine_cache_path": str(cache),
                "trt_timing_cache_enable": True,
                "trt_timing_cache_path": str(cache),
                **profile,
            }
        if name == CUDA:
            return {"device_id": config.device_id}
        return {}

    def open(
        self, path: str, role: str, profile: dict[str, str] | None = None
    ) -> tuple[ort.InferenceSession, str]:
        """A session for `path` and the provider that runs it; warns once per provider that
        was available but failed to load (its reason is in onnxruntime's own log just before)."""
        providers = [(name, self._options(name, profile or {})) for name in self.names]
        session = ort.InferenceSession(path, session_options(self.config), providers=providers)
        loaded = session.get_providers()
        for name in self.names:
            if name not in loaded and name not in self._failed:
                self._failed.add(name)
                log.warning("execution provider %s failed to load for the %s; running on %s",
                            name, role, loaded[0])
        return session, loaded[0]

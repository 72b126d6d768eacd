"""EdgeTAM's four ONNX graphs behind one object: load, check, run (no torch).

The graphs are written by ``edgesam-ros export --family edgetam`` (docs/edgetam.md). A set is
checked before use: every file must be an EdgeTAM graph of the role it is loaded for, and all
four must come from one export (same ``edgesam_ros.export_id``), since a memory written by one
model's memory encoder means nothing to another model's memory attention. Errors name the file,
what was expected and what was found (:class:`ModelError`).

Preprocessing is upstream's video predictor's: the frame is resized to S x S *without* keeping
the aspect ratio (Pillow bicubic, as ``PIL.Image.resize`` defaults to), scaled to 0-1 and
normalised with ImageNet mean/std; prompt coordinates are scaled per axis the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from edgesam_ros.engine.config import EngineConfig
from edgesam_ros.engine.errors import ModelError
from edgesam_ros.engine.model_io import ModelIO, read_model_io
from edgesam_ros.engine.preprocess import check_image, rgb_planes
from edgesam_ros.engine.providers import ProviderChain, trt_profile

#: Graph role -> file name written by the exporter, and the inputs each role must have.
GRAPH_FILES: dict[str, str] = {
    "image_encoder": "edgetam_image_encoder.onnx",
    "memory_attention": "edgetam_memory_attention.onnx",
    "decoder": "edgetam_decoder.onnx",
    "memory_encoder": "edgetam_memory_encoder.onnx",
}
GRAPH_INPUTS: dict[str, tuple[str, ...]] = {
    "image_encoder": ("image",),
    "memory_attention": ("vision_features", "vision_pos", "memory", "memory_tpos",
                         "object_pointers"),
    "decoder": ("features", "no_memory", "feat_s0", "feat_s1", "point_coords", "point_labels"),
    "memory_encoder": ("vision_features", "masks", "binarize"),
}


@dataclass(frozen=True)
class EdgeTamFiles:
    """Paths of one exported set."""

    image_encoder: Path
    memory_attention: Path
    decoder: Path
    memory_encoder: Path

    @classmethod
    def from_dir(cls, directory: str | Path, fp16: bool = False) -> EdgeTamFiles:
        """The exporter's file names in ``directory`` (``*.fp16.onnx`` with ``fp16``)."""
        d = Path(directory).expanduser()
        suffix = ".fp16.onnx" if fp16 else ".onnx"
        return cls(**{role: d / name.replace(".onnx", suffix)
                      for role, name in GRAPH_FILES.items()})


@dataclass(frozen=True)
class FrameFeatures:
    """The image encoder's outputs for one frame (shared by every object on it)."""

    feat_s0: np.ndarray  # [1, C/8, 4h, 4w]
    feat_s1: np.ndarray  # [1, C/4, 2h, 2w]
    vision_features: np.ndarray  # [1, C, h, w]
    vision_pos: np.ndarray  # [1, C, h, w]
    original_size: tuple[int, int]  # (H, W) of the camera image
    encode_ms: float = 0.0


@dataclass(frozen=True)
class DecoderOutput:
    masks: np.ndarray  # [B, 4, 4h, 4w] low-res logits
    ious: np.ndarray  # [B, 4]
    pointers: np.ndarray  # [B, 4, C], occlusion-mixed
    scores: np.ndarray  # [B] object score logits (> 0: visible)


@dataclass(frozen=True)
class EdgeTamInfo:
    """What was loaded and where it runs (the fields the node reports, as `EngineInfo`)."""

    encoder_path: str
    decoder_path: str
    encoder_provider: str
    decoder_provider: str
    load_ms: float
    #: Side of the square model input (the node's thin-image bound reads it, as `EngineInfo`'s).
    image_size: int
    family: str = "edgetam"
    has_proposals: bool = False


def _check_set(ios: dict[str, ModelIO]) -> dict[str, str]:
    """Metadata common to the set; ModelError for a wrong or mixed file."""
    ids = {}
    for role, io in ios.items():
        meta = io.metadata
        family, graph = meta.get("edgesam_ros.family"), meta.get("edgesam_ros.graph")
        if family != "edgetam" or graph != role:
            found = (f"family {family!r}, graph {graph!r}" if family
                     else "no edgesam_ros.family metadata (not written by edgesam-ros export)")
            raise ModelError(io.path, f"the EdgeTAM {role} graph (edgesam-ros export "
                             "--family edgetam)", found)
        missing = [n for n in GRAPH_INPUTS[role] if n not in io.inputs]
        if missing:
            raise ModelError(io.path, f"inputs {', '.join(GRAPH_INPUTS[role])}", io.describe())
        ids[role] = meta.get("edgesam_ros.export_id", "")
    first = ios["image_encoder"]
    for role, export_id in ids.items():
        if export_id != ids["image_encoder"]:
            raise ModelError(ios[role].path, f"a graph of the same export as {first.path} "
                             f"(export id {ids['image_encoder']})",
                             f"export id {export_id}: the four files come from different exports")
    return first.metadata


class EdgeTamRuntime:
    """Runs the four graphs; stateless (the memory bank lives in the tracker)."""

    def __init__(self, files: EdgeTamFiles, config: EngineConfig | None = None,
                 max_objects: int = 16, max_conditioning: int = 4) -> None:
        start = time.perf_counter()
        self.config = config or EngineConfig()
        self.files = files
        ios = {role: read_model_io(getattr(files, role)) for role in GRAPH_FILES}
        meta = _check_set(ios)
        self.image_size = int(meta["edgesam_ros.image_size"])
        self.hidden_dim = int(meta["edgesam_ros.hidden_dim"])
        self.mem_dim = int(meta["edgesam_ros.mem_dim"])
        self.memory_tokens = int(meta["edgesam_ros.memory_tokens"])
        self.num_maskmem = int(meta["edgesam_ros.num_maskmem"])
        self.max_obj_ptrs = int(meta["edgesam_ros.max_obj_ptrs"])
        mean = [float(v) for v in meta["edgesam_ros.pixel_mean"].split(",")]
        std = [float(v) for v in meta["edgesam_ros.pixel_std"].split(",")]
        self._mean = np.asarray(mean, np.float32).reshape(3, 1, 1)
        self._std = np.asarray(std, np.float32).reshape(3, 1, 1)
        chain = ProviderChain(self.config)
        profiles = self.trt_profiles(max_objects, max_conditioning)
        self._sessions = {}
        self.providers = {}
        for role in GRAPH_FILES:
            session, provider = chain.open(str(getattr(files, role)), f"EdgeTAM {role}",
                                           trt_profile(profiles[role]))
            self._sessions[role] = session
            self.providers[role] = provider
        if self.config.warmup:
            self.warm_up()
        self.info = EdgeTamInfo(str(files.image_encoder), str(files.decoder),
                                self.providers["image_encoder"], self.providers["decoder"],
                                (time.perf_counter() - start) * 1e3, self.image_size)

    def warm_up(self) -> None:
        """Run every graph once on a blank frame, so TensorRT builds its engines (minutes on
        a Jetson) while the node configures, not on the first camera frame."""
        frame = self.encode(np.zeros((self.image_size, self.image_size, 3), np.uint8))
        out = self.decode(frame, frame.vision_features, np.ones(1, np.float32),
                          np.zeros((1, 1, 2), np.float32), np.full((1, 1), -1.0, np.float32))
        memory = self.encode_memory(frame, out.masks[:, 0], np.ones(1, np.float32))
        self.condition(frame, memory[:, None], np.zeros((1, 1), np.int64), out.pointers[:, :1])

    def trt_profiles(self, max_objects: int, max_conditioning: int
                     ) -> dict[str, dict[str, list[tuple[int, int, int]]]]:
        """TensorRT (min, opt, max) per dynamic axis: B objects, F memory frames, P pointers,
        N points; static axes as (n, n, n). ``opt`` is one object prompted once with a full
        memory (F = 7, P = 16); the maxima follow from the memory bank's bounds
        (``max_conditioning`` + 6 frames, ``max_conditioning`` + 15 pointers). docs/edgetam.md
        lists them for EdgeTAM's sizes.
        """
        b = (1, 1, max_objects)
        f = (1, self.num_maskmem, max_conditioning + self.num_maskmem - 1)
        p = (1, self.max_obj_ptrs, max_conditioning + self.max_obj_ptrs - 1)
        n = (1, 1, self.config.trt_max_points)
        c, m, h = self.hidden_dim, self.mem_dim, self.image_size // 16
        t = self.memory_tokens

        def fixed(*dims: int) -> list[tuple[int, int, int]]:
            return [(d, d, d) for d in dims]

        return {
            "image_encoder": {},
            "memory_attention": {"memory": [b, f, *fixed(t, m)], "memory_tpos": [b, f],
                                 "object_pointers": [b, p, *fixed(c)]},
            "decoder": {"features": [b, *fixed(c, h, h)], "no_memory": [b],
                        "point_coords": [b, n, *fixed(2)], "point_labels": [b, n]},
            "memory_encoder": {"masks": [b, *fixed(1, 4 * h, 4 * h)], "binarize": [b]},
        }

    def preprocess(self, image: np.ndarray, color: str = "rgb") -> np.ndarray:
        """``[1, 3, S, S]`` float32: square bicubic resize (no aspect kept), 0-1, ImageNet norm."""
        check_image(image, color)
        rgb = np.dstack(rgb_planes(image, color))
        s = self.image_size
        resized = np.asarray(Image.fromarray(rgb).resize((s, s), Image.Resampling.BICUBIC))
        chw = resized.transpose(2, 0, 1).astype(np.float32)
        return ((chw - self._mean) / self._std)[None]

    def encode(self, image: np.ndarray, color: str = "rgb") -> FrameFeatures:
        start = time.perf_counter()
        tensor = self.preprocess(image, color)
        s0, s1, feats, pos = self._sessions["image_encoder"].run(None, {"image": tensor})
        return FrameFeatures(s0, s1, feats, pos, (image.shape[0], image.shape[1]),
                             (time.perf_counter() - start) * 1e3)

    def condition(self, frame: FrameFeatures, memory: np.ndarray, memory_tpos: np.ndarray,
                  pointers: np.ndarray) -> np.ndarray:
        """``[B, C, h, w]`` features of B objects conditioned on their memories."""
        return self._sessions["memory_attention"].run(None, {
            "vision_features": frame.vision_features, "vision_pos": frame.vision_pos,
            "memory": memory.astype(np.float32, copy=False),
            "memory_tpos": memory_tpos.astype(np.int64, copy=False),
            "object_pointers": pointers.astype(np.float32, copy=False)})[0]

    def decode(self, frame: FrameFeatures, features: np.ndarray, no_memory: np.ndarray,
               coords: np.ndarray, labels: np.ndarray) -> DecoderOutput:
        """Masks of B objects; ``coords [B, N, 2]`` in the S-frame, ``labels [B, N]``."""
        masks, ious, pointers, scores = self._sessions["decoder"].run(None, {
            "features": features.astype(np.float32, copy=False),
            "no_memory": no_memory.astype(np.float32), "feat_s0": frame.feat_s0,
            "feat_s1": frame.feat_s1, "point_coords": coords.astype(np.float32),
            "point_labels": labels.astype(np.float32)})
        return DecoderOutput(masks, ious, pointers, scores[:, 0])

    def encode_memory(self, frame: FrameFeatures, masks: np.ndarray, binarize: np.ndarray
                      ) -> np.ndarray:
        """``[B, T, m]`` memories from each object's chosen low-res logits ``[B, 4h, 4w]``."""
        return self._sessions["memory_encoder"].run(None, {
            "vision_features": frame.vision_features,
            "masks": masks[:, None].astype(np.float32, copy=False),
            "binarize": binarize.astype(np.float32)})[0]

"""Engine settings with their defaults; the ROS node declares one parameter per field.

Every number that changes what the engine returns or how fast it runs lives here, not in the code.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Short names accepted in `EngineConfig.providers`, mapped to onnxruntime's provider names.
PROVIDER_ALIASES = {
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
}

#: Mask choice rules (`selection.py`): "family" = the loaded family's upstream rule.
SELECTIONS = ("family", "edgesam", "sam", "stability")
#: Frame resize methods: "pillow" is upstream's resize exactly, "cv2" is faster, not exact.
RESIZES = ("pillow", "cv2")
#: Where the models run: onnxruntime sessions in this process, or a Triton Inference Server.
BACKENDS = ("local", "triton")


@dataclass(frozen=True)
class EngineConfig:
    """How to load and run the models.

    `providers` is tried in order: a provider that is missing from the onnxruntime build or fails
    to load is skipped with one warning, and CPU always remains as the last resort.
    """

    #: Execution providers in order of preference (short names above or onnxruntime names).
    providers: tuple[str, ...] = ("tensorrt", "cuda", "cpu")
    #: GPU index for the CUDA and TensorRT providers.
    device_id: int = 0
    #: Let TensorRT build FP16 engines (about 2x faster on Jetson; masks barely change).
    trt_fp16: bool = True
    #: Where TensorRT engines are cached; the first run builds them (minutes on a Jetson).
    trt_cache_dir: str = "~/.cache/edgesam_ros/trt"
    #: Largest number of points (including box corners and padding) of one prompt that the
    #: TensorRT optimisation profile of a dynamic decoder covers.
    trt_max_points: int = 16
    #: Threads inside one operator (0: onnxruntime's default, one per core).
    intra_op_threads: int = 0
    #: Threads running independent operators in parallel (0: onnxruntime's default).
    inter_op_threads: int = 0
    #: Let onnxruntime's worker threads busy-wait for the next run. Off by default: between two
    #: runs the spinning threads hold the cores that the Python post-processing, the tracker and
    #: the node's callbacks need (`edgesam-ros bench spinning` on 2 cores: whole frames 2.6x and
    #: mask upsampling 6x slower with spinning). Turn it on only for inference alone on a machine.
    allow_spinning: bool = False
    #: Run one encode and one decode at load so the first camera frame is not slow.
    warmup: bool = True
    #: Most objects per decoder call for decoders with a dynamic batch axis (bounds GPU memory).
    max_decoder_batch: int = 16
    #: Which of the decoder's masks to return: "family" (default) follows the loaded family's
    #: upstream predictor; "edgesam" (no box: best stability of all outputs, box: output 0),
    #: "sam" (lone point: best predicted IoU of outputs 1-3, else 0) or "stability" (lone point:
    #: best stability of outputs 1-3, else 0) force one rule (see `selection.py`).
    selection: str = "family"
    #: Logit threshold of a mask pixel (SAM's `mask_threshold`).
    mask_threshold: float = 0.0
    #: Offset of the stability score: IoU of (logits > t + offset) and (logits > t - offset).
    stability_offset: float = 1.0
    #: Append SAM's padding point (0, 0, label -1) to prompts without a box, as the PyTorch
    #: prompt encoder does (and as EdgeSAM was trained); the ONNX decoders leave it to the caller.
    pad_point_prompts: bool = True
    #: How frames are resized to the encoder: "pillow" is upstream's resize (torchvision on a PIL
    #: image = Pillow bilinear, antialiased when shrinking) byte for byte; "cv2" (INTER_AREA
    #: shrinking, INTER_LINEAR enlarging) is faster but NOT exact (see `preprocess.py`).
    resize: str = "pillow"
    #: Proposals scoring below this are dropped before NMS.
    proposal_score_threshold: float = 0.3
    #: IoU above which NMS suppresses the lower-scoring proposal.
    proposal_nms_iou: float = 0.5
    #: Most proposals returned per frame, best first.
    max_proposals: int = 20
    #: Force a model family (see `signatures.FAMILIES`) instead of detecting it from the files.
    family: str | None = None
    #: "local": onnxruntime sessions on the given files; "triton": the models of a Triton
    #: Inference Server (`triton_*` below; docs/deployment.md), the files are not used.
    backend: str = "local"
    #: gRPC address (host:port) of the Triton server.
    triton_url: str = "127.0.0.1:8001"
    #: Names of the encoder and decoder models in the server's repository.
    triton_encoder_model: str = "edgesam_encoder"
    triton_decoder_model: str = "edgesam_decoder"
    #: Seconds one request to the server may take before the frame is given up.
    triton_timeout_s: float = 2.0

    def __post_init__(self) -> None:
        if self.resize not in RESIZES:
            raise ValueError(f"resize must be one of {RESIZES}, got {self.resize!r}")
        if self.selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {SELECTIONS}, got {self.selection!r}")
        for name in self.providers:
            if name.lower() not in PROVIDER_ALIASES and not name.endswith("ExecutionProvider"):
                raise ValueError(
                    f"unknown execution provider {name!r}: use one of "
                    f"{sorted(PROVIDER_ALIASES)} or an onnxruntime provider name"
                )
        if self.max_decoder_batch < 1 or self.trt_max_points < 1:
            raise ValueError("max_decoder_batch and trt_max_points must be at least 1")
        if self.stability_offset <= 0:
            raise ValueError("stability_offset must be positive")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.triton_timeout_s <= 0:
            raise ValueError("triton_timeout_s must be positive")

    @property
    def provider_names(self) -> list[str]:
        """`providers` as onnxruntime names, duplicates removed, order kept."""
        names = [PROVIDER_ALIASES.get(p.lower(), p) for p in self.providers]
        return list(dict.fromkeys(names))

"""ROS-free EdgeSAM inference (onnxruntime or a Triton server): load, encode, decode prompts.

The contract is in docs/architecture.md ("Engine contract"); deployment in docs/deployment.md.
"""

from edgesam_ros.engine.bundled import bundled_model_paths
from edgesam_ros.engine.config import EngineConfig
from edgesam_ros.engine.engine import SamEngine
from edgesam_ros.engine.errors import InferenceError, ModelError
from edgesam_ros.engine.signatures import FAMILIES, ModelSignature
from edgesam_ros.engine.transforms import LongestSide
from edgesam_ros.engine.types import (
    Embedding,
    EngineInfo,
    MaskResult,
    Prompt,
    Proposals,
    Timings,
)

__all__ = [
    "FAMILIES",
    "Embedding",
    "EngineConfig",
    "EngineInfo",
    "InferenceError",
    "LongestSide",
    "MaskResult",
    "ModelError",
    "ModelSignature",
    "Prompt",
    "Proposals",
    "SamEngine",
    "Timings",
    "bundled_model_paths",
]

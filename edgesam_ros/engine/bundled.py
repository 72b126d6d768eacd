"""Where the default model shipped with the package lives (the node uses this too)."""

from __future__ import annotations

from pathlib import Path

from edgesam_ros.engine.errors import ModelError

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
ENCODER_FILE = "edgesam_tiny_encoder.onnx"
DECODER_FILE = "edgesam_tiny_decoder.onnx"
#: Metadata (or Triton model parameter) marking the bundled model where its path cannot tell:
#: `edgesam-ros triton-repo` writes it for the bundled pair, the engine reads it.
BUNDLED_KEY = "edgesam_ros.bundled"


def bundled_model_paths(weights_dir: Path = WEIGHTS_DIR) -> tuple[Path, Path]:
    """(encoder, decoder) paths of the embedded default model; ModelError saying how to get one."""
    encoder, decoder = weights_dir / ENCODER_FILE, weights_dir / DECODER_FILE
    missing = [p.name for p in (encoder, decoder) if not p.is_file()]
    if missing:
        raise ModelError(
            weights_dir,
            f"the bundled model {ENCODER_FILE} and {DECODER_FILE}",
            f"{' and '.join(missing)} missing. Get EdgeSAM ONNX files (chongzhou96/EdgeSAM, "
            "README) or export a checkpoint with `edgesam-ros export`, then pass their paths "
            "as encoder/decoder or copy them here; see docs/deployment.md",
        )
    return encoder, decoder


def is_bundled_model(encoder: str | Path, decoder: str | Path,
                     weights_dir: Path = WEIGHTS_DIR) -> bool:
    """Whether the pair is the bundled files (some defaults are measured for this model only)."""
    bundled = (weights_dir / ENCODER_FILE, weights_dir / DECODER_FILE)
    return all(Path(given).resolve() == Path(own).resolve()
               for given, own in zip((encoder, decoder), bundled, strict=True))

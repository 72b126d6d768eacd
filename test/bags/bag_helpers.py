"""Constants and helpers shared by the bag tests (a plain module: conftest is not importable)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgesam_ros.engine.bundled import WEIGHTS_DIR, bundled_model_paths

REPO = Path(__file__).resolve().parents[2]
RANDOM_MODEL = (REPO / ".cache/random_tiny/encoder.onnx", REPO / ".cache/random_tiny/decoder.onnx")
TRAINED = (WEIGHTS_DIR / "edgesam_tiny_encoder.onnx").is_file()
#: Why accuracy thresholds are skipped: they only mean something for the trained model.
NO_TRAINED_MODEL = "edgesam_ros/weights/edgesam_tiny_encoder.onnx is absent (random weights)"

#: Small enough to keep the suite fast, large enough for the objects to be segmentable.
SMALL = {"preset": "tiny", "size": (320, 240), "prompts": True}
FRAMES = 12


def model_paths() -> tuple[Path, Path]:
    """(encoder, decoder) to test with; skips the test when no model is available at all."""
    if TRAINED:
        return bundled_model_paths()
    if all(p.is_file() for p in RANDOM_MODEL):
        return RANDOM_MODEL
    pytest.skip("no model: neither the bundled weights nor .cache/random_tiny exist")

"""Shared fixtures of the engine tests: fake model files per family, built once per session.

The builders live in `onnx_fixtures.py` next to this file; pytest's default (prepend) import mode
puts this directory on `sys.path`, so the tests here `import onnx_fixtures` directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import onnx_fixtures
import pytest

from edgesam_ros.engine import EngineConfig, SamEngine

#: One thread and no warm-up: tests share two cores with other jobs and time nothing.
TEST_CONFIG = EngineConfig(providers=("cpu",), intra_op_threads=1, inter_op_threads=1,
                           warmup=False)


@pytest.fixture(scope="session")
def model_pair(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., tuple[Path, Path]]:
    """`model_pair(preset, encoder={...}, decoder={...})` -> (encoder, decoder) paths, cached."""
    root = tmp_path_factory.mktemp("models")
    cache: dict[str, tuple[Path, Path]] = {}

    def make(preset: str, **overrides: dict) -> tuple[Path, Path]:
        key = f"{preset}-{sorted((k, sorted(v.items())) for k, v in overrides.items())}"
        if key not in cache:
            directory = root / f"m{len(cache)}"
            cache[key] = onnx_fixtures.write_pair(directory, preset, **overrides)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def engine_for(model_pair: Callable[..., tuple[Path, Path]]) -> Callable[..., SamEngine]:
    """`engine_for(preset, **config_overrides)` -> a CPU engine on that preset's files, cached."""
    cache: dict[tuple, SamEngine] = {}

    def make(preset: str, **config: object) -> SamEngine:
        key = (preset, tuple(sorted(config.items())))
        if key not in cache:
            encoder, decoder = model_pair(preset)
            cfg = replace(TEST_CONFIG, **config)
            cache[key] = SamEngine(encoder, decoder, cfg)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def bundled_engine() -> SamEngine:
    """The bundled model: a real SAM decoder, whose label -1 tokens take part in attention."""
    return SamEngine.bundled(TEST_CONFIG)

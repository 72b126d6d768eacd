"""`edgesam-ros bench overload` runs end to end (a short flood; the 60 s run is by hand)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from robust_node import MODEL

pytestmark = pytest.mark.ros


def test_the_overload_benchmark_prints_its_table():
    encoder, decoder = MODEL / "encoder.onnx", MODEL / "decoder.onnx"
    if not encoder.is_file():
        pytest.skip(f"the random tiny test model is missing ({MODEL})")
    out = subprocess.run(
        [sys.executable, "-m", "edgesam_ros.cli", "bench", "overload", "--seconds", "3",
         "--rate", "40", "--width", "64", "--height", "48", "--threads", "1",
         "--encoder", str(encoder), "--decoder", str(decoder)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    header, _, row = out.stdout.strip().splitlines()[-3:]
    assert header.startswith("| published | node received | processed | dropped | results |")
    cells = [c.strip() for c in row.strip("|").split("|")]
    published, received, processed, dropped, results = map(int, cells[:5])
    assert 119 <= published <= 121 and 0 < processed <= received <= published
    assert received == processed + dropped and results == processed
    assert float(cells[-1]) < 1.5  # RSS end / start

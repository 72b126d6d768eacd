"""Errors the engine raises for model files it cannot use.

A robot that starts with the wrong file should say which file, what it needed and what it got, in
one line of the log, instead of failing later inside onnxruntime with a shape error.
"""

from __future__ import annotations

from pathlib import Path


class ModelError(Exception):
    """A model file is missing, is not ONNX, or does not have the interface the engine needs."""

    def __init__(self, path: str | Path, expected: str, found: str) -> None:
        self.path = str(path)
        self.expected = expected
        self.found = found
        super().__init__(f"{self.path}: expected {expected}; found {found}")


class InferenceError(RuntimeError):
    """A remote inference request failed (server down, too slow, or it refused the request).

    Only that frame is lost: the engine stays usable and the next request tries again, so a node
    reports the outage and recovers by itself when the server is back.
    """

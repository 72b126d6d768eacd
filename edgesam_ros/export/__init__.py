"""ONNX export of EdgeSAM models (needs the torch extras)."""

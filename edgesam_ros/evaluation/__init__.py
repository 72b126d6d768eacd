"""Torch-free evaluation of any SAM-family encoder/decoder ONNX pair on held-out scenes."""

"""Serving the model from NVIDIA Triton Inference Server: model repositories and a local server.

`repository` writes a Triton model repository for an encoder/decoder pair (`edgesam-ros
triton-repo`); `server` starts the `tritonserver` that `tools/setup_triton.sh` installs, for the
tests and `edgesam-ros bench triton`; `python_model` is the Python-backend model the CPU test
repositories run. The client side lives in `edgesam_ros.engine.triton_backend`.
"""

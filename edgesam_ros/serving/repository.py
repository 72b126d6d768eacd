"""Write a Triton model repository for an encoder/decoder pair (`edgesam-ros triton-repo`).

Layout (Triton's model repository convention): `DIR/<encoder name>/config.pbtxt`,
`DIR/<encoder name>/1/model.onnx`, the same for the decoder. The `onnxruntime` backend (default)
is what production serves from the official Triton container; the `python` backend writes our
`python_model.py` beside each ONNX file instead, so the CPU-only test server (which has no
onnxruntime backend) serves the same files with the same names, shapes and batching.

Batching across cameras: Triton's dynamic batcher merges requests along a leading batch axis, so
the encoder needs one. EdgeSAM's encoders (official and ours) are exported with batch 1; when
every encoder tensor has a leading 1, this module renames that axis to a dynamic one and keeps
the result only if onnxruntime gives a batch of two frames exactly what two single runs give (a
graph with batch-1 reshapes fails that check). Otherwise the encoder is served without batching
(`max_batch_size: 0`) and the reason is printed. The decoder never gets Triton batching: its
embedding has batch 1 while its prompts carry the object axis, which stays dynamic (`-1`).

The `edgesam_ros.*` metadata of each ONNX file (image size, prompt frame, mean/std, family) is
copied into the model's `parameters`, where `TritonBackend` reads it as the engine reads it from
a file.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgesam_ros.bags.errors import run_cli
from edgesam_ros.engine.bundled import BUNDLED_KEY, is_bundled_model
from edgesam_ros.engine.errors import ModelError
from edgesam_ros.engine.model_io import ModelIO, TensorInfo, read_model_io
from edgesam_ros.engine.signatures import META_PREFIX

#: numpy dtype -> Triton model-configuration data type.
CONFIG_TYPES = {
    np.dtype(np.float32): "TYPE_FP32",
    np.dtype(np.float16): "TYPE_FP16",
    np.dtype(np.float64): "TYPE_FP64",
    np.dtype(np.int64): "TYPE_INT64",
    np.dtype(np.int32): "TYPE_INT32",
    np.dtype(np.bool_): "TYPE_BOOL",
}
BACKENDS = ("onnxruntime", "python")
PYTHON_MODEL = Path(__file__).with_name("python_model.py")


@dataclass(frozen=True)
class RepositoryOptions:
    """What to write; the defaults suit one GPU serving a few cameras."""

    encoder_name: str = "edgesam_encoder"
    decoder_name: str = "edgesam_decoder"
    #: "onnxruntime" (production) or "python" (the CPU test server; see the module docstring).
    backend: str = "onnxruntime"
    #: Largest encoder batch the dynamic batcher may form (frames from different cameras).
    max_batch_size: int = 8
    #: How long the batcher may hold a request waiting for others to join it.
    queue_delay_us: int = 2000
    #: Model instances per device (parallel executions of each model).
    instances: int = 1
    #: "gpu" or "cpu" instances (the python backend always runs on CPU).
    kind: str = "gpu"
    #: TensorRT accelerator for the encoder (onnxruntime backend on GPU).
    tensorrt: bool = False
    #: Let that TensorRT engine use FP16.
    fp16: bool = True
    #: Directory (inside the server's container) where TensorRT engines are cached per model, so
    #: only the first start builds them; mount a volume there (docs/deployment.md).
    trt_cache: str = "/trt_cache"
    #: onnxruntime threads inside one operator of the python backend (0: one per core).
    threads: int = 0


@dataclass(frozen=True)
class WrittenModel:
    """One model written: its directory and whether the encoder got a dynamic batch axis."""

    name: str
    path: Path
    batched: bool
    note: str


def _shared_batch_axis(io: ModelIO) -> bool:
    """Every tensor leads with the same axis: 1 (a batch-1 export) or one shared symbol."""
    tensors = [*io.inputs.values(), *io.outputs.values()]
    if not all(t.shape for t in tensors):
        return False
    leads = {t.shape[0] for t in tensors}
    return len(leads) == 1 and (leads == {1} or isinstance(next(iter(leads)), str))


def _with_batch_axis(tensors: dict[str, TensorInfo]) -> dict[str, TensorInfo]:
    return {n: TensorInfo(n, ("batch", *t.shape[1:]), t.dtype) for n, t in tensors.items()}


def batch_encoder(path: str | Path) -> tuple[bytes | None, str]:
    """(ONNX bytes with a dynamic leading axis, note), or (None, why not) for `path`.

    The rewritten graph is kept only if a batch of two random frames gives what two single
    runs give (exactly, up to 1e-4 relative for reordered float sums).
    """
    import onnx
    import onnxruntime as ort

    io = read_model_io(path)
    if not _shared_batch_axis(io):
        return None, f"not every encoder tensor has a leading batch axis ({io.describe()})"
    model = onnx.load(str(path))
    for tensor in [*model.graph.input, *model.graph.output]:
        tensor.type.tensor_type.shape.dim[0].dim_param = "batch"
    data = model.SerializeToString()
    options = ort.SessionOptions()
    options.log_severity_level = 4
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feed = {name: rng.standard_normal((2, *t.shape[1:])).astype(t.dtype)
            for name, t in io.inputs.items()}
    try:
        together = session.run(None, feed)
        alone = [session.run(None, {n: v[i:i + 1] for n, v in feed.items()}) for i in range(2)]
    except Exception as error:  # onnxruntime's own types: a batch-1 reshape fails here
        return None, f"the graph does not run with batch 2 ({str(error).splitlines()[0]})"
    for index, array in enumerate(together):
        single = np.concatenate([outputs[index] for outputs in alone])
        if not np.allclose(array, single, rtol=1e-4, atol=1e-5):
            return None, "batch 2 does not give what two single frames give"
    return data, "dynamic batch axis added (batch 2 checked against two single frames)"


def _dims(shape: tuple, batched: bool) -> str:
    dims = shape[1:] if batched else shape
    return ", ".join(str(d) if isinstance(d, int) else "-1" for d in dims)


def _tensors(kind: str, tensors: dict[str, TensorInfo], batched: bool) -> str:
    entries = [
        f'  {{ name: "{t.name}" data_type: {CONFIG_TYPES[t.dtype]} '
        f'dims: [ {_dims(t.shape, batched)} ] }}'
        for t in tensors.values()
    ]
    return f"{kind} [\n" + ",\n".join(entries) + "\n]\n"


def _parameters(values: dict[str, str]) -> str:
    return "".join(f'parameters {{ key: "{k}" value: {{ string_value: "{v}" }} }}\n'
                   for k, v in sorted(values.items()))


def model_config(
    name: str, io: ModelIO, options: RepositoryOptions, batched: bool, accelerate: bool
) -> str:
    """The `config.pbtxt` text of one model."""
    text = f'name: "{name}"\nbackend: "{options.backend}"\n'
    text += f"max_batch_size: {options.max_batch_size if batched else 0}\n"
    text += _tensors("input", io.inputs, batched) + _tensors("output", io.outputs, batched)
    if batched:
        text += ("dynamic_batching { max_queue_delay_microseconds: "
                 f"{options.queue_delay_us} }}\n")
    kind = "KIND_CPU" if options.backend == "python" else f"KIND_{options.kind.upper()}"
    text += f"instance_group [ {{ count: {options.instances} kind: {kind} }} ]\n"
    if accelerate:
        precision = "FP16" if options.fp16 else "FP32"
        text += (
            "optimization { execution_accelerators { gpu_execution_accelerator: [ {\n"
            '  name: "tensorrt"\n'
            f'  parameters {{ key: "precision_mode" value: "{precision}" }}\n'
            '  parameters { key: "max_workspace_size_bytes" value: "1073741824" }\n'
            '  parameters { key: "trt_engine_cache_enable" value: "1" }\n'
            f'  parameters {{ key: "trt_engine_cache_path" value: "{options.trt_cache}/{name}" }}\n'
            "} ] } }\n"
        )
    parameters = {k: v for k, v in io.metadata.items() if k.startswith(META_PREFIX)}
    if options.backend == "python":
        parameters["intra_op_threads"] = str(options.threads)
    return text + _parameters(parameters)


def _write_model(
    root: Path, name: str, onnx_source: Path, onnx_bytes: bytes | None, config: str,
    backend: str,
) -> Path:
    directory = root / name
    version = directory / "1"
    version.mkdir(parents=True, exist_ok=True)
    if onnx_bytes is None:
        shutil.copyfile(onnx_source, version / "model.onnx")
    else:
        (version / "model.onnx").write_bytes(onnx_bytes)
    if backend == "python":
        shutil.copyfile(PYTHON_MODEL, version / "model.py")
    (directory / "config.pbtxt").write_text(config)
    return directory


def write_repository(
    encoder: str | Path, decoder: str | Path, out_dir: str | Path,
    options: RepositoryOptions | None = None,
) -> list[WrittenModel]:
    """Write both models under `out_dir` (created; existing models of the same names replaced)."""
    options = options or RepositoryOptions()
    if options.backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {options.backend!r}")
    root = Path(out_dir)
    encoder_io, decoder_io = read_model_io(encoder), read_model_io(decoder)
    if is_bundled_model(encoder, decoder):  # served, its path no longer tells (mask choice)
        encoder_io = dataclasses.replace(encoder_io,
                                         metadata={**encoder_io.metadata, BUNDLED_KEY: "true"})
    data, note = (None, "max_batch_size 0 requested") if options.max_batch_size < 1 else (
        batch_encoder(encoder))
    batched = data is not None
    if batched:
        encoder_io = ModelIO(encoder_io.path, _with_batch_axis(encoder_io.inputs),
                             _with_batch_axis(encoder_io.outputs), encoder_io.metadata)
    accelerate = options.tensorrt and options.backend == "onnxruntime" and options.kind == "gpu"
    written = []
    for name, source, io, is_encoder in (
        (options.encoder_name, Path(encoder), encoder_io, True),
        (options.decoder_name, Path(decoder), decoder_io, False),
    ):
        config = model_config(name, io, options, batched and is_encoder, accelerate and is_encoder)
        directory = _write_model(root, name, source, data if is_encoder else None, config,
                                 options.backend)
        written.append(WrittenModel(
            name, directory, batched and is_encoder,
            note if is_encoder else "object axis dynamic; no Triton batching (see docs)",
        ))
    return written


def build_parser() -> argparse.ArgumentParser:
    defaults = RepositoryOptions()
    p = argparse.ArgumentParser(
        prog="edgesam-ros triton-repo",
        description="Write a Triton Inference Server model repository for an encoder/decoder "
                    "ONNX pair (official EdgeSAM files or `edgesam-ros export`); see "
                    "docs/deployment.md.")
    p.add_argument("encoder", help="encoder ONNX file")
    p.add_argument("decoder", help="decoder ONNX file")
    p.add_argument("out_dir", help="model repository directory (created)")
    p.add_argument("--encoder-name", default=defaults.encoder_name)
    p.add_argument("--decoder-name", default=defaults.decoder_name)
    p.add_argument("--backend", default=defaults.backend, choices=BACKENDS,
                   help="onnxruntime: production (official Triton container); python: our "
                        "onnxruntime-in-Python model for the CPU test server")
    p.add_argument("--max-batch-size", type=int, default=defaults.max_batch_size,
                   help="largest encoder batch formed across cameras (0: no batching)")
    p.add_argument("--queue-delay-us", type=int, default=defaults.queue_delay_us,
                   help="how long the dynamic batcher may hold a frame for others to join")
    p.add_argument("--instances", type=int, default=defaults.instances,
                   help="instances of each model per device")
    p.add_argument("--kind", default=defaults.kind, choices=("gpu", "cpu"))
    p.add_argument("--tensorrt", action="store_true",
                   help="TensorRT accelerator for the encoder (onnxruntime backend on GPU)")
    p.add_argument("--no-fp16", dest="fp16", action="store_false",
                   help="TensorRT in FP32 instead of FP16")
    p.add_argument("--trt-cache", default=defaults.trt_cache,
                   help="TensorRT engine cache directory inside the server's container")
    p.add_argument("--threads", type=int, default=defaults.threads,
                   help="python backend: onnxruntime intra-op threads (0: one per core)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Bad input (a missing or unusable ONNX file, an unsupported tensor type) is one line and
    exit 2, as the other commands report it."""
    args = vars(build_parser().parse_args(argv))
    encoder, decoder, out_dir = args.pop("encoder"), args.pop("decoder"), args.pop("out_dir")

    def body() -> int:
        for model in write_repository(encoder, decoder, out_dir, RepositoryOptions(**args)):
            print(f"{model.name}: {model.path} ({model.note})")
        return 0

    return run_cli("edgesam-ros triton-repo", body, (ModelError, ValueError, KeyError, OSError))

"""Start and stop the `tritonserver` that `tools/setup_triton.sh` installs, on loopback ports.

For the tests and `edgesam-ros bench triton` only: production runs the official Triton container
(docs/deployment.md). The server comes from the `nvidia-pytriton` wheel in its own venv; it needs
that wheel's bundled libraries on LD_LIBRARY_PATH, and the Python backend's embedded interpreter
takes the `python3` first on PATH, so the venv's `bin` goes first and the project's Python
variables (PYTHONPATH & co., which point at ROS wheels) are removed from its environment.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

DEFAULT_VENV = Path("~/.cache/edgesam_ros/triton")
SETUP_HINT = "run tools/setup_triton.sh (part of `make test`)"


@dataclass(frozen=True)
class TritonInstall:
    """Where the server binary, its backends and its bundled libraries are."""

    venv: Path
    server_dir: Path

    @property
    def binary(self) -> Path:
        return self.server_dir / "bin" / "tritonserver"

    @property
    def backends(self) -> Path:
        return self.server_dir / "backends"

    @property
    def libraries(self) -> Path:
        return self.server_dir.parent.parent / "nvidia_pytriton.libs"


def find_install(venv: str | Path | None = None) -> TritonInstall:
    """The installed server ($EDGESAM_TRITON_VENV or the default venv); FileNotFoundError
    saying how to install it."""
    root = Path(venv or os.environ.get("EDGESAM_TRITON_VENV") or DEFAULT_VENV).expanduser()
    # tools/setup_triton.sh builds that venv with Python 3.11 (the backend stub embeds it),
    # whatever Python runs this code (a ROS distro's may be 3.12).
    site = root / "lib" / "python3.11" / "site-packages"
    install = TritonInstall(root, site / "pytriton" / "tritonserver")
    stub = install.backends / "python" / "triton_python_backend_stub"
    for needed in (install.binary, stub):
        if not needed.is_file():
            raise FileNotFoundError(f"no Triton server at {needed}: {SETUP_HINT}")
    return install


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop_with_parent() -> None:
    """In the server's process before exec: SIGTERM when the process that started it dies
    (Linux PR_SET_PDEATHSIG), so a killed test run or bench leaves no server behind."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def server_environment(install: TritonInstall) -> dict[str, str]:
    """The server's environment: the venv's Python first, the wheel's libraries, no project
    Python variables."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYTHON") and k not in ("VIRTUAL_ENV", "LD_LIBRARY_PATH")}
    env["PATH"] = f"{install.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(install.venv)
    env["LD_LIBRARY_PATH"] = str(install.libraries)
    return env


class TritonServer:
    """One `tritonserver` process serving `repository` on loopback; a context manager.

    The ports are chosen once, so `stop()` then `start()` brings the same server back at the
    same address (the tests' outage and recovery).
    """

    def __init__(
        self, repository: str | Path, install: TritonInstall | None = None,
        log_path: str | Path | None = None,
    ) -> None:
        self.repository = Path(repository)
        self.install = install or find_install()
        self.grpc_port, self.http_port, self.metrics_port = free_port(), free_port(), free_port()
        if log_path is None:
            handle, log_path = tempfile.mkstemp(prefix="tritonserver-", suffix=".log")
            os.close(handle)  # the server writes it; keep no descriptor open here
        self.log_path = Path(log_path)
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The gRPC address clients use."""
        return f"127.0.0.1:{self.grpc_port}"

    def command(self) -> list[str]:
        return [
            str(self.install.binary),
            f"--model-repository={self.repository}",
            f"--backend-directory={self.install.backends}",
            "--http-address=127.0.0.1", f"--http-port={self.http_port}",
            "--grpc-address=127.0.0.1", f"--grpc-port={self.grpc_port}",
            "--metrics-address=127.0.0.1", f"--metrics-port={self.metrics_port}",
            "--allow-metrics=false", "--log-verbose=0", "--exit-timeout-secs=5",
        ]

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.is_file() else ""
        return "\n".join(text.splitlines()[-lines:])

    def start(self, timeout: float = 120.0) -> TritonServer:
        """Start the server and wait until it and every model are ready; RuntimeError with the
        end of its log if it exits or is not ready in `timeout` seconds."""
        import tritonclient.grpc as grpcclient

        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT,
                env=server_environment(self.install), start_new_session=True,
                preexec_fn=_stop_with_parent,
            )
        client = grpcclient.InferenceServerClient(self.url)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise RuntimeError(f"tritonserver exited with {self._process.returncode}:\n"
                                       f"{self.log_tail()}")
                try:
                    if client.is_server_ready(client_timeout=1.0):
                        return self
                except Exception:  # not listening yet: tritonclient raises its own types
                    pass
                time.sleep(0.2)
        finally:
            client.close()
        self.stop()
        raise RuntimeError(f"tritonserver not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after `timeout` seconds)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> TritonServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


def python_backend_server(
    encoder: str | Path, decoder: str | Path, repository: str | Path, threads: int = 1,
    max_batch_size: int = 8, queue_delay_us: int = 2000,
) -> TritonServer:
    """An unstarted server for `encoder`/`decoder`, served by our Python-backend model from a
    repository written at `repository` (the CPU test server has no onnxruntime backend)."""
    from edgesam_ros.serving.repository import RepositoryOptions, write_repository

    options = RepositoryOptions(backend="python", kind="cpu", threads=threads,
                                max_batch_size=max_batch_size, queue_delay_us=queue_delay_us)
    write_repository(encoder, decoder, repository, options)
    return TritonServer(repository, log_path=Path(repository) / "tritonserver.log")

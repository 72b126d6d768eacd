"""Opening bags with clear errors and writing them so that a failure never leaves a broken file.

Compatibility of what we write (checked against rosbag2's metadata history):
- metadata version 8: QoS profiles are a YAML *string* with numeric policies, the form Humble's
  `ros2 bag info/play` parse; Jazzy and Kilted read v8 as well. Version 9 (a YAML list with
  policy names) breaks Humble ("yaml-cpp: bad conversion").
- every topic carries its message definition (`ros2msg`, dependencies concatenated) and RIHS01
  type hash, so Foxglove decodes MCAP and sqlite3 bags without the package installed.
- offered QoS profiles are recorded per topic: `ros2 bag play` and our replay use them.
- MCAP chunks are zstd-compressed (storage-level, invisible in metadata.yaml, read by rosbag2's
  MCAP plugin and Foxglove): raw camera images shrink several times at little CPU cost.

Outputs are staged in a hidden temporary sibling of the destination and moved into place only
when complete; an existing destination is replaced only with `overwrite` and only at that moment.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import apsw
import yaml
from rosbags.interfaces import (
    Connection,
    ConnectionExtRosbag2,
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)
from rosbags.rosbag2 import (
    CompressionFormat,
    CompressionMode,
    Reader,
    ReaderError,
    StoragePlugin,
    Writer,
    WriterError,
)
from rosbags.typesys import TypesysError

from .errors import BagError
from .typestore import typestore

try:  # the zstd module rosbags decompresses MCAP chunks with (Python 3.14 has it built in)
    from compression.zstd import ZstdError
except ImportError:
    from backports.zstd import ZstdError

METADATA_VERSION = 8
STORAGES = {"sqlite3": StoragePlugin.SQLITE3, "mcap": StoragePlugin.MCAP}
_SUFFIX_STORAGE = {".db3": "sqlite3", ".mcap": "mcap"}
_DEFAULT_TIME = QosTime(0, 0)  # rosbag2's "default" deadline / lifespan / lease


def qos(reliable: bool, depth: int, transient_local: bool = False) -> Qos:
    """A keep-last QoS profile as recorded in bag metadata."""
    return Qos(
        QosHistory.KEEP_LAST,
        depth,
        QosReliability.RELIABLE if reliable else QosReliability.BEST_EFFORT,
        QosDurability.TRANSIENT_LOCAL if transient_local else QosDurability.VOLATILE,
        _DEFAULT_TIME,
        _DEFAULT_TIME,
        QosLiveliness.AUTOMATIC,
        _DEFAULT_TIME,
        False,
    )


#: REP 2003 sensor data: what cameras offer (best effort, keep last 5).
SENSOR_QOS = qos(reliable=False, depth=5)
#: Commands and results that must not be lost (prompts, segmentation results).
RELIABLE_QOS = qos(reliable=True, depth=10)
#: Latched: late subscribers still get the last message (camera_info of a fixed camera).
LATCHED_QOS = qos(reliable=True, depth=1, transient_local=True)

#: What reading a damaged storage file raises: truncation, a corrupt sqlite page (apsw, under
#: rosbags), a corrupt zstd (ZstdError) or lz4 (RuntimeError) MCAP chunk.
_DAMAGED = (ReaderError, sqlite3.DatabaseError, apsw.Error, ZstdError, RuntimeError, ValueError,
            EOFError, KeyError, IndexError, OSError)


def storage_format(path: Path) -> str:
    """"sqlite3" or "mcap": the storage plugin of a bag directory or storage file."""
    if path.is_file():
        if path.suffix not in _SUFFIX_STORAGE:
            raise BagError(f"{path} is not a bag (expected a directory, .db3 or .mcap)")
        return _SUFFIX_STORAGE[path.suffix]
    try:
        info = yaml.safe_load((path / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
        return str(info["storage_identifier"])
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise BagError(f"{path} has no readable metadata.yaml ({error})") from None


@contextmanager
def open_bag(path: Path) -> Iterator[Reader]:
    """An open rosbags Reader; BagError if `path` is missing, not a bag or damaged."""
    if not path.exists():
        raise BagError(f"{path} does not exist")
    try:
        reader = Reader(path)
        reader.open()
    except (FileNotFoundError, *_DAMAGED) as error:
        raise BagError(f"cannot open bag {path} (damaged or truncated?): {error}") from None
    try:
        yield reader
    finally:
        reader.close()


def read_messages(
    reader: Reader, connections: list[Connection], start: int | None = None
) -> Iterator[tuple[Connection, int, bytes]]:
    """`reader.messages(...)` of exactly `connections` (rosbags reads all for an empty list),
    with a damaged (e.g. truncated) storage file as a BagError."""
    if not connections:
        return
    try:
        yield from reader.messages(connections, start=start)
    except _DAMAGED as error:
        raise BagError(f"bag {reader.path} is damaged: {error}") from None


def topic_connections(reader: Reader, topic: str, msgtypes: tuple[str, ...]) -> list[Connection]:
    """The connections of `topic`, checked to exist and to carry one of `msgtypes`."""
    found = [c for c in reader.connections if c.topic == topic]
    if not found:
        listed = ", ".join(sorted({c.topic for c in reader.connections})) or "none"
        raise BagError(f"topic {topic} is not in {reader.path} (topics: {listed})")
    wrong = sorted({c.msgtype for c in found} - set(msgtypes))
    if wrong:
        raise BagError(f"topic {topic} has type {wrong[0]}, expected {' or '.join(msgtypes)}")
    return found


def check_output(path: Path, overwrite: bool) -> None:
    """Refuse an existing destination unless `overwrite` (checked before any work starts)."""
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise BagError(f"{path} exists; pass --overwrite to replace it")
    if not path.parent.is_dir():
        raise BagError(f"the directory of {path} does not exist")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextmanager
def staged_output(path: Path, overwrite: bool) -> Iterator[Path]:
    """A fresh path beside `path` to write to; moved onto `path` when the block succeeds.

    On an exception the staged output is deleted and `path` is untouched; so is `path` when the
    block wrote nothing.
    """
    check_output(path, overwrite)
    stage = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield stage / path.name
        if not (stage / path.name).exists():
            return
        check_output(path, overwrite)  # something may have appeared meanwhile
        if path.exists() or path.is_symlink():
            old = stage / "replaced"
            path.rename(old)
        (stage / path.name).rename(path)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


class BagWriter:
    """A rosbag2 writer (version 8) that stages the bag and serialises with our typestore.

    Use as a context manager; `directory` is the bag directory being written, for side files
    (ground truth) that should travel with the bag.
    """

    def __init__(self, path: Path, storage: str, overwrite: bool = False) -> None:
        if storage not in STORAGES:
            raise BagError(f"unknown storage {storage!r}; use one of {', '.join(STORAGES)}")
        check_output(path, overwrite)
        self.path, self.storage, self.overwrite = path, storage, overwrite
        self._staging = staged_output(path, overwrite)
        self._writer: Writer | None = None
        self._connections: dict[str, Connection] = {}
        self.counts: dict[str, int] = {}

    @property
    def directory(self) -> Path:
        assert self._writer is not None, "the writer is not open"
        return self._writer.path

    def __enter__(self) -> BagWriter:
        staged = self._staging.__enter__()
        plugin = STORAGES[self.storage]
        self._writer = Writer(staged, version=METADATA_VERSION, storage_plugin=plugin)
        if plugin == StoragePlugin.MCAP:
            self._writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
        self._writer.open()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            if kind is None:
                writer.close()
            else:
                writer.abort()
        self._staging.__exit__(kind, error, tb)

    def add_topic(self, topic: str, msgtype: str, offered_qos: Qos) -> None:
        """Declare a topic of one of the typestore's types, offered with `offered_qos`."""
        self._add(topic, msgtype, offered_qos_profiles=[offered_qos], typestore=typestore())

    def copy_topic(self, connection: Connection, topic: str | None = None) -> None:
        """Declare a topic exactly as another bag had it (definition, hash, QoS)."""
        ext = connection.ext
        assert isinstance(ext, ConnectionExtRosbag2)
        self._add(
            topic or connection.topic,
            connection.msgtype,
            offered_qos_profiles=ext.offered_qos_profiles,
            msgdef=connection.msgdef.data or None,
            rihs01=connection.digest or None,
            typestore=typestore(),
        )

    def _add(self, topic: str, msgtype: str, **kwargs: object) -> None:
        assert self._writer is not None, "the writer is not open"
        if topic in self._connections:
            return
        try:
            self._connections[topic] = self._writer.add_connection(topic, msgtype, **kwargs)
        except (TypesysError, WriterError) as error:  # e.g. an old bag without definitions
            raise BagError(
                f"cannot write {topic}: the definition of {msgtype} is neither in the input bag "
                f"nor known to rosbags ({error})"
            ) from None
        self.counts[topic] = 0

    def write(self, topic: str, timestamp_ns: int, message: object) -> None:
        """Serialise a typestore message and write it to a declared topic."""
        self.write_raw(topic, timestamp_ns, typestore().serialize_cdr(message, message.__msgtype__))

    def write_raw(self, topic: str, timestamp_ns: int, data: bytes | memoryview) -> None:
        """Write already serialised (CDR) bytes to a declared topic."""
        assert self._writer is not None, "the writer is not open"
        self._writer.write(self._connections[topic], timestamp_ns, data)
        self.counts[topic] += 1

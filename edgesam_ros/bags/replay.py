"""`edgesam-ros play BAG`: the core of `ros2 bag play` on rclpy, for machines without rosbag2.

Messages are published at their recorded timing (scaled by `rate`), from `start_offset` seconds
into the bag, optionally looping, for a selection of topics, with remapping. Each topic gets a
publisher with the QoS it was recorded with (a topic without recorded QoS gets REP 2003 sensor
data QoS). The recorded CDR bytes are published as they are (`Publisher.publish(bytes)`): no
deserialisation, so any message type whose Python interface is importable can be replayed, and
what subscribers receive is exactly what was recorded.

rosbag2's rule for several recorded publishers of one topic is kept: reliable only if every one
was reliable, transient-local only if every one was, so no original subscriber becomes
incompatible.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import rclpy
from rclpy.context import Context
from rclpy.node import Node
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)
from rosbags.interfaces import Connection, ConnectionExtRosbag2, Qos, QosDurability, QosReliability

from edgesam_ros.ros import dds_profile

from .errors import EXIT_INTERRUPTED, BagError, run_cli
from .storage import open_bag, read_messages

WAIT_FOR_S = 30.0  # how long --wait-for waits for subscribers


@dataclass(frozen=True)
class PlayOptions:
    """How to play a bag (the options of `ros2 bag play` we support)."""

    rate: float = 1.0
    start_offset: float = 0.0  # seconds after the bag's first message
    loop: bool = False
    topics: tuple[str, ...] = ()  # empty: every topic whose type is importable
    remap: dict[str, str] = field(default_factory=dict)  # recorded topic -> published topic
    delay: float = 0.0  # seconds to wait after creating publishers (discovery) before playing


@dataclass
class PlayStats:
    """What one `Player.play` did."""

    published: Counter = field(default_factory=Counter)  # published topic -> messages
    loops: int = 0  # complete passes over the bag
    wall_s: float = 0.0
    bag_s: float = 0.0  # bag time covered per pass, seconds


def message_type(msgtype: str) -> type:
    """The rclpy message class of "pkg/msg/Name"; BagError when its package is not importable."""
    package, _, name = msgtype.rpartition("/")
    try:
        return getattr(importlib.import_module(package.replace("/", ".")), name)
    except (ImportError, AttributeError, ValueError):
        raise BagError(
            f"unknown message type {msgtype}: its Python interface is not installed or sourced"
        ) from None


def publisher_qos(profiles: Sequence[Qos]) -> QoSProfile:
    """The QoS to publish a topic with, from the profiles its publishers offered when recorded."""
    if not profiles:
        return qos_profile_sensor_data
    reliable = all(p.reliability == QosReliability.RELIABLE for p in profiles)
    latched = all(p.durability == QosDurability.TRANSIENT_LOCAL for p in profiles)
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=max(1, *(p.depth for p in profiles)),
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )


def _selected(connections: list[Connection], options: PlayOptions) -> list[Connection]:
    """Connections to play; BagError for a requested topic that is missing or not importable."""
    present = {c.topic for c in connections}
    missing = sorted(set(options.topics) - present)
    if missing:
        listed = ", ".join(sorted(present)) or "none"
        raise BagError(f"topic {missing[0]} is not in the bag (topics: {listed})")
    unknown_remaps = sorted(set(options.remap) - present)
    if unknown_remaps:
        raise BagError(f"cannot remap {unknown_remaps[0]}: no such topic in the bag")
    chosen, skipped = [], []
    for connection in connections:
        if options.topics and connection.topic not in options.topics:
            continue
        try:
            message_type(connection.msgtype)
        except BagError as error:
            if options.topics:
                raise BagError(f"topic {connection.topic}: {error}") from None
            skipped.append(f"{connection.topic}: {error}")
            continue
        chosen.append(connection)
    if not chosen:
        raise BagError(f"no topic to play ({'; '.join(skipped) or 'the bag is empty'})")
    for reason in skipped:
        print(f"play: skipping {reason}", file=sys.stderr)
    return chosen


class Player:
    """Publishes a bag's messages from an rclpy node (see the module docstring).

    `play` blocks until the bag ends (never, with `loop`) or `stop` is set; run it in a thread
    to play while an executor spins other nodes in the same process.
    """

    def __init__(self, node: Node, bag: Path, options: PlayOptions | None = None) -> None:
        self.node = node
        self.bag = bag
        self.options = options or PlayOptions()
        if self.options.rate <= 0:
            raise BagError(f"rate must be > 0, got {self.options.rate:g}")
        self.stop = threading.Event()
        with open_bag(bag) as reader:
            self._connections = _selected(reader.connections, self.options)
            self._start_ns = reader.start_time + round(self.options.start_offset * 1e9)
            self._end_ns = reader.end_time
        if self._start_ns >= self._end_ns:
            raise BagError(f"start offset {self.options.start_offset:g} s is past the bag's end")
        self.publishers = {}
        for topic in sorted({c.topic for c in self._connections}):
            group = [c for c in self._connections if c.topic == topic]
            profiles = [p for c in group for p in _offered(c)]
            name = self.options.remap.get(topic, topic)
            msg_class = message_type(group[0].msgtype)
            self.publishers[topic] = node.create_publisher(msg_class, name, publisher_qos(profiles))

    def wait_for_subscribers(self, topics: Sequence[str], timeout: float) -> bool:
        """Wait until each of `topics` (recorded names) has a subscriber; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stop.is_set():
            if all(self.publishers[t].get_subscription_count() for t in topics):
                return True
            time.sleep(0.02)
        return False

    def play(self, on_message: Callable[[str, int], None] | None = None) -> PlayStats:
        """Publish until the end (or forever with `loop`) unless `stop` is set first.

        `on_message(topic, bag_time_ns)` is called after each publish (tests, progress).
        """
        stats = PlayStats(bag_s=(self._end_ns - self._start_ns) / 1e9)
        if self.options.delay > 0 and self.stop.wait(self.options.delay):
            return stats
        began = time.monotonic()
        while not self.stop.is_set():
            self._play_once(stats, on_message)
            if self.stop.is_set():
                break
            stats.loops += 1
            if not self.options.loop:
                break
        stats.wall_s = time.monotonic() - began
        return stats

    def _play_once(self, stats: PlayStats, on_message: Callable[[str, int], None] | None) -> None:
        rate = self.options.rate
        with open_bag(self.bag) as reader:
            chosen = {c.id for c in self._connections}
            connections = [c for c in reader.connections if c.id in chosen]
            wall_start = time.monotonic()
            for connection, timestamp, data in read_messages(reader, connections, self._start_ns):
                due = wall_start + (timestamp - self._start_ns) / 1e9 / rate
                if self.stop.wait(max(0.0, due - time.monotonic())):
                    return
                self.publishers[connection.topic].publish(bytes(data))
                stats.published[self.options.remap.get(connection.topic, connection.topic)] += 1
                if on_message is not None:
                    on_message(connection.topic, timestamp)


def _offered(connection: Connection) -> list[Qos]:
    ext = connection.ext
    return list(ext.offered_qos_profiles) if isinstance(ext, ConnectionExtRosbag2) else []


def _remap(text: str) -> tuple[str, str]:
    old, sep, new = text.partition(":=")
    if not sep or not old or not new:
        raise argparse.ArgumentTypeError(f"expected OLD:=NEW, got {text!r}")
    return old, new


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgesam-ros play", description=__doc__.split("\n\n")[0])
    p.add_argument("bag", type=Path)
    p.add_argument("-r", "--rate", type=float, default=1.0, help="playback speed factor")
    p.add_argument("--start-offset", type=float, default=0.0, metavar="SECONDS",
                   help="start this far into the bag")
    p.add_argument("-l", "--loop", action="store_true", help="play the bag again and again")
    p.add_argument("--topics", nargs="+", default=[], help="play only these topics")
    p.add_argument("-m", "--remap", type=_remap, action="append", default=[],
                   metavar="OLD:=NEW", help="publish topic OLD as NEW (repeatable)")
    p.add_argument("-d", "--delay", type=float, default=0.5, metavar="SECONDS",
                   help="wait after creating publishers, for discovery (default 0.5)")
    p.add_argument("--wait-for", action="append", default=[], metavar="TOPIC",
                   help="before playing, wait up to 30 s until TOPIC (a recorded name) has a "
                   "subscriber (repeatable)")
    p.add_argument("--dds-profile", default=dds_profile.SHIPPED, metavar="FILE",
                   help="Fast DDS profile of the player: large_images (default, the package's "
                   "config/fastdds_large_images.xml, unless FASTDDS_DEFAULT_PROFILES_FILE is "
                   "set), a file, or '' for none; the subscribers need it too (docs/node.md)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    options = PlayOptions(
        rate=args.rate, start_offset=args.start_offset, loop=args.loop,
        topics=tuple(args.topics), remap=dict(args.remap), delay=args.delay,
    )

    def body() -> int:
        try:
            dds_profile.apply(args.dds_profile)  # before rclpy.init: read at the first participant
        except ValueError as error:
            raise BagError(str(error)) from None
        context = Context()  # private: callers (tests, the demo) may have their own
        rclpy.init(args=[], context=context)  # our argv is not for rcl (OLD:=NEW!)
        node = rclpy.create_node("edgesam_bag_player", context=context)
        try:
            player = Player(node, args.bag, options)
            unknown = sorted(set(args.wait_for) - set(player.publishers))
            if unknown:
                raise BagError(f"--wait-for {unknown[0]}: not a played topic")
            if not player.wait_for_subscribers(args.wait_for, WAIT_FOR_S):
                raise BagError(f"no subscriber on {', '.join(args.wait_for)} after {WAIT_FOR_S} s")
            try:
                stats = player.play()
            except KeyboardInterrupt:
                print("play: interrupted", file=sys.stderr)
                return EXIT_INTERRUPTED
            total = sum(stats.published.values())
            print(f"played {total} messages on {len(stats.published)} topics in "
                  f"{stats.wall_s:.2f} s ({stats.loops} pass(es) of {stats.bag_s:.2f} s of bag)")
            return 0
        finally:
            node.destroy_node()
            rclpy.shutdown(context=context)

    return run_cli("play", body)

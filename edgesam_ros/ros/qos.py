"""QoS profiles of the node and loud warnings when a peer's QoS cannot match ours.

The classic failure of a camera pipeline is silence: a reliable subscriber and a best-effort camera
never connect and nothing says so. Every subscription and publisher of the node gets an
incompatible-QoS callback that logs the topic, our profile and the peers' profiles.

rclpy moved the event classes from `rclpy.qos_event` (Humble) to `rclpy.event_handler` (Iron and
later, with `qos_event` kept as a deprecated alias); both are tried.
"""

from __future__ import annotations

from collections.abc import Callable

from rclpy.node import Node
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
)

try:  # Iron, Jazzy, Kilted
    from rclpy.event_handler import PublisherEventCallbacks, SubscriptionEventCallbacks
except ImportError:  # Humble
    from rclpy.qos_event import PublisherEventCallbacks, SubscriptionEventCallbacks

_RELIABILITY = {
    "best_effort": ReliabilityPolicy.BEST_EFFORT,
    "reliable": ReliabilityPolicy.RELIABLE,
}


def profile(reliability: str, depth: int) -> QoSProfile:
    """Keep-last `depth` (0: keep all), volatile profile with the given reliability
    ("best_effort" or "reliable")."""
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST if depth else HistoryPolicy.KEEP_ALL,
        depth=depth,
        reliability=_RELIABILITY[reliability],
        durability=DurabilityPolicy.VOLATILE,
    )


def _policy_name(policy: object) -> str:
    return getattr(policy, "name", str(policy)).lower()


def describe(qos: QoSProfile) -> str:
    """One-line summary of the policies that decide compatibility."""
    return (
        f"reliability={_policy_name(qos.reliability)}, durability={_policy_name(qos.durability)}, "
        f"history={_policy_name(qos.history)}, depth={qos.depth}"
    )


def _incompatibility_logger(
    node: Node, topic: str, ours: QoSProfile, peers: Callable[[str], list], role: str, peer: str
) -> Callable[[object], None]:
    """Callback for an incompatible-QoS event that names the topic and both profiles."""

    def log(event: object) -> None:
        resolved = node.resolve_topic_name(topic)
        theirs = sorted({describe(info.qos_profile) for info in peers(resolved)}) or ["unknown"]
        policy = _policy_name(getattr(event, "last_policy_kind", "unknown"))
        node.get_logger().warning(
            f"incompatible QoS on {resolved} ({policy}): our {role} has [{describe(ours)}], "
            f"the {peer}(s) have [{'; '.join(theirs)}]. No messages flow until they match: set "
            "the matching reliability parameter (e.g. image.reliability) or the peer's QoS."
        )

    return log


def subscription_events(node: Node, topic: str, ours: QoSProfile) -> SubscriptionEventCallbacks:
    """Event callbacks for a subscription: warn on publishers we can't receive from."""
    return SubscriptionEventCallbacks(
        incompatible_qos=_incompatibility_logger(
            node, topic, ours, node.get_publishers_info_by_topic, "subscription", "publisher"
        )
    )


def publisher_events(node: Node, topic: str, ours: QoSProfile) -> PublisherEventCallbacks:
    """Event callbacks for a publisher: warn on subscribers that can't receive from us."""
    return PublisherEventCallbacks(
        incompatible_qos=_incompatibility_logger(
            node, topic, ours, node.get_subscriptions_info_by_topic, "publisher", "subscriber"
        )
    )

"""`edgesam-ros prompt`: start, refine or remove objects of a running segment node from a shell.

    edgesam-ros prompt --point 320,240                  # new object from a foreground click
    edgesam-ros prompt --point 320,240 --point 300,200,0 --label mug
    edgesam-ros prompt --box 100,80,260,240             # new object from a box
    edgesam-ros prompt --refine 3 --point 330,250,0     # add a background point to object 3
    edgesam-ros prompt --remove 3
    edgesam-ros prompt --clear --node /robot/edgesam

The prompt goes to `<node>/prompt` (reliable); unless `--no-wait`, the command waits for the
node's next `<node>/segmentation` that reports the object and prints its id and state, so a
rejected prompt is seen at once with its reason.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np
import rclpy
from rclpy.duration import Duration
from std_srvs.srv import Trigger

from edgesam_ros.msg import ObjectPrompt, ObjectSegmentation, PromptPoint, SegmentationArray

from . import qos

STATES = {
    getattr(ObjectSegmentation, name): name[len("STATE_"):].lower()
    for name in dir(ObjectSegmentation) if name.startswith("STATE_")
}


def _numbers(text: str, counts: tuple[int, ...], what: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in counts:
        raise argparse.ArgumentTypeError(f"{what} must be {' or '.join(map(str, counts))} "
                                         f"comma-separated numbers, got {text!r}")
    return values


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="edgesam-ros prompt", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--point", action="append", default=[], metavar="X,Y[,LABEL]",
                        type=lambda t: _numbers(t, (2, 3), "--point"),
                        help="pixel point; LABEL 1 foreground (default), 0 background")
    parser.add_argument("--box", metavar="X1,Y1,X2,Y2", type=lambda t: _numbers(t, (4,), "--box"))
    parser.add_argument("--label", default="", help="class name carried into the results")
    parser.add_argument("--id", type=int, default=0, help="id for a new object (0: the node's)")
    parser.add_argument("--once", action="store_true", help="segment one frame, don't track")
    parser.add_argument("--refine", type=int, metavar="ID", help="add the points/box to ID")
    parser.add_argument("--remove", type=int, metavar="ID", help="stop tracking object ID")
    parser.add_argument("--clear", action="store_true", help="remove every object")
    parser.add_argument("--node", default="/edgesam", help="the segment node (default /edgesam)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the node")
    parser.add_argument("--no-wait", action="store_true", help="don't wait for the result")
    args = parser.parse_args(list(argv))
    actions = sum([bool(args.point or args.box) and args.refine is None,
                   args.refine is not None, args.remove is not None, args.clear])
    if actions != 1:
        parser.error("give exactly one of: --point/--box (new object), --refine, --remove, --clear")
    if args.refine is not None and not (args.point or args.box):
        parser.error("--refine needs --point or --box")
    return args


def build_prompt(args: argparse.Namespace) -> ObjectPrompt:
    """The ObjectPrompt the arguments describe (stamp 0: the node's next frame)."""
    prompt = ObjectPrompt(label=args.label, track=not args.once)
    if args.remove is not None:
        prompt.action, prompt.object_id = ObjectPrompt.ACTION_REMOVE, args.remove
        return prompt
    if args.refine is not None:
        prompt.action, prompt.object_id = ObjectPrompt.ACTION_REFINE, args.refine
    else:
        prompt.action, prompt.object_id = ObjectPrompt.ACTION_ADD, args.id
    prompt.points = [
        PromptPoint(x=p[0], y=p[1], label=int(p[2]) if len(p) == 3 else 1) for p in args.point
    ]
    if args.box:
        prompt.has_box, prompt.box = True, np.asarray(args.box, np.float32)
    return prompt


def _wait(node: rclpy.node.Node, done: callable, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    return done()


def _clear(node: rclpy.node.Node, target: str, timeout: float) -> int:
    client = node.create_client(Trigger, f"{target}/clear")
    if not client.wait_for_service(timeout_sec=timeout):
        print(f"no service {target}/clear: is the node running and active?")
        return 1
    future = client.call_async(Trigger.Request())
    if not _wait(node, future.done, timeout):
        print(f"{target}/clear did not answer within {timeout} s")
        return 1
    print(future.result().message)
    return 0


def _send(node: rclpy.node.Node, args: argparse.Namespace) -> int:
    results: list[SegmentationArray] = []
    node.create_subscription(SegmentationArray, f"{args.node}/segmentation", results.append, 10)
    publisher = node.create_publisher(ObjectPrompt, f"{args.node}/prompt",
                                      qos.profile("reliable", 10))
    if not _wait(node, lambda: publisher.get_subscription_count() > 0, args.timeout):
        print(f"nobody subscribes to {args.node}/prompt: is the node running and active?")
        return 1
    prompt = build_prompt(args)
    if args.no_wait:
        publisher.publish(prompt)
        # Exiting at once could drop the prompt before the node has it.
        publisher.wait_for_all_acked(Duration(seconds=args.timeout))
        return 0
    # A result before sending proves the result subscription is matched (otherwise the first
    # frame after the prompt, the only one reporting a new object as new, can be missed) and
    # tells which ids existed before this prompt.
    _wait(node, lambda: bool(results), args.timeout)
    known = {o.id for r in results for o in r.objects}
    sent_at = len(results)
    # No blocking wait for the acknowledgement: it can take a heartbeat period (seconds), during
    # which the results queue would overflow and the object's first frame be lost.
    publisher.publish(prompt)

    def reported() -> list[ObjectSegmentation]:
        """This prompt's object in a result received after sending: by id, or a new user id
        (a refused new object has id 0, which an earlier refusal may have shown already)."""
        return [o for r in results[sent_at:] for o in r.objects
                if (prompt.object_id and o.id == prompt.object_id)
                or (not prompt.object_id and o.source == ObjectSegmentation.SOURCE_USER
                    and (o.id not in known or o.state == ObjectSegmentation.STATE_REJECTED))]

    if not _wait(node, lambda: bool(reported()), args.timeout):
        print("sent; no result within the timeout (are images arriving?)")
        return 0
    obj = reported()[0]
    detail = f": {obj.status_message}" if obj.status_message else ""
    print(f"object {obj.id} {STATES.get(obj.state, obj.state)}, area {obj.area} px{detail}")
    return 1 if obj.state == ObjectSegmentation.STATE_REJECTED else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv or [])
    rclpy.init()
    node = rclpy.create_node("edgesam_prompt_cli")
    try:
        return _clear(node, args.node, args.timeout) if args.clear else _send(node, args)
    finally:
        node.destroy_node()
        rclpy.shutdown()

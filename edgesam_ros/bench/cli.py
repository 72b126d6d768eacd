"""`edgesam-ros bench [engine|tracker|node|spinning|preprocess|delivery|triton|memory|overload|
all] [options]`: run one benchmark or all of them (`all` leaves out `overload`,
a minute of flooding).

Options after the benchmark name go to that benchmark (`edgesam-ros bench engine --help`).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

BENCHMARKS: dict[str, str] = {
    "engine": "edgesam_ros.bench.engine_bench",
    "tracker": "edgesam_ros.bench.tracker_bench",
    "node": "edgesam_ros.bench.node_bench",
    "spinning": "edgesam_ros.bench.spinning_bench",
    "overload": "edgesam_ros.bench.overload_bench",
    "delivery": "edgesam_ros.bench.delivery_bench",
    "preprocess": "edgesam_ros.bench.preprocess_bench",
    "triton": "edgesam_ros.bench.triton_bench",
    "memory": "edgesam_ros.bench.memory_bench",
}
#: run only when named: a minute or more of flooding
ON_REQUEST = ("overload",)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    name = args.pop(0) if args and not args[0].startswith("-") else "all"
    if name in ("-h", "--help") or (name != "all" and name not in BENCHMARKS):
        print(f"usage: edgesam-ros bench [{'|'.join([*BENCHMARKS, 'all'])}] [options]")
        return 0 if name in ("-h", "--help") else 2
    names = [n for n in BENCHMARKS if n not in ON_REQUEST] if name == "all" else [name]
    status = 0
    for each in names:
        print(f"\n## {each} benchmark\n", flush=True)
        status |= int(importlib.import_module(BENCHMARKS[each]).main(args) or 0)
    return status


if __name__ == "__main__":
    sys.exit(main())

"""`edgesam-ros bench [engine|tracker|node|spinning|memory|all] [options]`: run one or all.

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
    "memory": "edgesam_ros.bench.memory_bench",
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    name = args.pop(0) if args and not args[0].startswith("-") else "all"
    if name in ("-h", "--help") or (name != "all" and name not in BENCHMARKS):
        print(f"usage: edgesam-ros bench [{'|'.join([*BENCHMARKS, 'all'])}] [options]")
        return 0 if name in ("-h", "--help") else 2
    names = list(BENCHMARKS) if name == "all" else [name]
    status = 0
    for each in names:
        print(f"\n## {each} benchmark\n", flush=True)
        status |= int(importlib.import_module(BENCHMARKS[each]).main(args) or 0)
    return status


if __name__ == "__main__":
    sys.exit(main())

"""The one error type of the bag tools and how the command-line tools report it.

Bad input (a missing topic, an unknown message type, a damaged bag, an output that exists) must
end a tool with exit code 2 and one line naming the problem, never a traceback: the user can
fix the input, and a script can tell bad input (2) from a crash (1).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # the shell's convention for SIGINT


class BagError(Exception):
    """Bad input to a bag tool; the message is the whole explanation shown to the user."""


def run_cli(
    name: str, body: Callable[[], int], expected: tuple[type[Exception], ...] = (BagError,)
) -> int:
    """Run a tool's `body`, turning an `expected` error (bad input) into one line on stderr and
    exit code 2; anything else is a bug and keeps its traceback."""
    try:
        return body()
    except expected as error:
        print(f"{name}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT

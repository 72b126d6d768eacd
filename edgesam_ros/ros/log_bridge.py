"""Python `logging` of the core (`edgesam_ros.*`) into a node's rclpy logger, so /rosout sees it.

The ROS-free core logs with the standard library (e.g. `edgesam_ros.engine` warns when
onnxruntime falls back from TensorRT/CUDA to CPU). Inside the node those records would only reach
stderr through Python's last-resort handler: not /rosout, not rqt_console, not a launch log.
`RosLogHandler` forwards each record to a child of the node's logger named after the record's
logger (`edgesam.engine`), at the matching severity.
"""

from __future__ import annotations

import logging
from typing import Any

CORE_LOGGER = "edgesam_ros"


class RosLogHandler(logging.Handler):
    """Forwards Python log records to an rclpy logger (children per core module)."""

    def __init__(self, ros_logger: Any) -> None:
        super().__init__(logging.DEBUG)
        self._ros_logger = ros_logger
        self._children: dict[str, Any] = {}

    def _child(self, name: str) -> Any:
        suffix = name[len(CORE_LOGGER):].lstrip(".") if name.startswith(CORE_LOGGER) else name
        if not suffix:
            return self._ros_logger
        if suffix not in self._children:
            self._children[suffix] = self._ros_logger.get_child(suffix.replace(".", "_"))
        return self._children[suffix]

    def emit(self, record: logging.LogRecord) -> None:
        if not _attached or _attached[-1] is not self:
            return  # another node of this process forwards it (one copy on /rosout)
        try:
            logger, text = self._child(record.name), self.format(record)
            if record.levelno >= logging.CRITICAL:
                logger.fatal(text)
            elif record.levelno >= logging.ERROR:
                logger.error(text)
            elif record.levelno >= logging.WARNING:
                logger.warning(text)
            elif record.levelno >= logging.INFO:
                logger.info(text)
            else:
                logger.debug(text)
        except Exception:
            self.handleError(record)


#: Attached handlers, oldest first; only the newest forwards (see `attach`).
_attached: list[RosLogHandler] = []


def attach(ros_logger: Any) -> RosLogHandler:
    """Forward the core's log records to `ros_logger` until `detach`. With several nodes in one
    process (`segment_node --namespaces`) only the newest attached node forwards: the core's
    records do not say which camera they came from, and one copy of each on /rosout is what
    operators want."""
    handler = RosLogHandler(ros_logger)
    _attached.append(handler)
    logging.getLogger(CORE_LOGGER).addHandler(handler)
    return handler


def detach(handler: RosLogHandler) -> None:
    logging.getLogger(CORE_LOGGER).removeHandler(handler)
    if handler in _attached:
        _attached.remove(handler)

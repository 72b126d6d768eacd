"""EdgeSAM for ROS 2: a ROS-free core (engine, tracking, scenes, bags) and a thin ROS layer.

The package is split across two directories in a colcon workspace: the Python sources and the
interfaces rosidl generates (`edgesam_ros.msg`). Extending `__path__` lets either copy find the
other, so a source checkout with the install space sourced behaves like the installed package.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
__version__ = "0.1.0"

"""pip installation of the pure-Python part of edgesam_ros (core, CLI, tools).

In a ROS 2 workspace the package is built by colcon through CMakeLists.txt, which also generates the
message interfaces; this file serves users who want the ROS-free core (engine, tracking, scenes,
bags, exporter, training) from pip, and declares the optional extras.
"""

from setuptools import find_packages, setup

setup(
    name="edgesam_ros",
    version="0.1.0",
    description="EdgeSAM (on-device Segment Anything) for ROS 2, with a ROS-free core.",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["edgesam_ros", "edgesam_ros.*"]),
    package_data={"edgesam_ros": ["weights/*.onnx", "weights/*.md"]},
    install_requires=[
        "numpy>=1.24",
        "opencv-python-headless>=4.8",
        "onnxruntime>=1.16",
        "Pillow>=9.1",
        "PyYAML>=6",
        "tqdm>=4.60",
    ],
    extras_require={
        "bags": ["rosbags>=0.10"],
        "export": ["torch>=2.1", "onnx>=1.15", "onnxscript>=0.1"],
        "train": ["torch>=2.1", "onnx>=1.15", "onnxscript>=0.1"],
        "bench": ["torch>=2.1", "onnx>=1.15"],
        "triton": ["tritonclient[grpc]>=2.40", "onnx>=1.15"],
        "dev": ["pytest>=7", "ruff>=0.5", "onnx>=1.15"],
    },
    entry_points={
        "console_scripts": [
            "edgesam-ros=edgesam_ros.entry_points:edgesam_ros_cli",
            "edgesam-ros-segment-node=edgesam_ros.entry_points:segment_node",
            "edgesam-ros-prompt=edgesam_ros.entry_points:prompt",
        ]
    },
)

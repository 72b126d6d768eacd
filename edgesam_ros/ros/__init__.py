"""The thin ROS 2 layer: node, message conversion, QoS, diagnostics, prompt CLI."""

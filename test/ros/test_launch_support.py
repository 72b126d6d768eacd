"""The launch file's plain-Python decisions: RViz follows the image/namespace arguments, RViz only
when rviz2 exists, the node's DDS profile (`edgesam_ros.ros.launch_support`, `dds_profile`)."""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from edgesam_ros.ros import dds_profile, launch_support

REPO = Path(__file__).resolve().parents[2]
RVIZ = REPO / "config" / "segment.rviz"
PROFILE = REPO / "config" / dds_profile.SHIPPED_FILE


def displayed_topics(text: str) -> dict[str, str]:
    displays = yaml.safe_load(text)["Visualization Manager"]["Displays"]
    return {d["Name"]: d["Topic"]["Value"] for d in displays if "Topic" in d}


@pytest.mark.parametrize(("image", "namespace", "expected"), [
    ("/camera/color/image_raw", "", ("/camera/color/image_raw", "/edgesam/overlay",
                                     "/edgesam/points")),
    ("/cam/rgb", "robot1", ("/cam/rgb", "/robot1/edgesam/overlay", "/robot1/edgesam/points")),
    ("camera/image", "/robot2/", ("/robot2/camera/image", "/robot2/edgesam/overlay",
                                  "/robot2/edgesam/points")),
])
def test_rviz_config_shows_the_launched_topics(image, namespace, expected):
    text = launch_support.rviz_config(RVIZ.read_text(), image, namespace)
    assert displayed_topics(text) == dict(zip(
        ("Input image", "EdgeSAM overlay", "Object points"), expected, strict=True))
    # everything else is the template's
    original, generated = yaml.safe_load(RVIZ.read_text()), yaml.safe_load(text)
    for display in (*original["Visualization Manager"]["Displays"],
                    *generated["Visualization Manager"]["Displays"]):
        display["Topic"].pop("Value")
    assert generated == original


def test_every_topic_display_of_the_shipped_rviz_config_is_substituted():
    assert set(displayed_topics(RVIZ.read_text())) == set(launch_support.RVIZ_TOPICS)


def test_write_rviz_config_writes_a_loadable_file():
    path = launch_support.write_rviz_config(RVIZ, "/cam/rgb", "r1")
    try:
        assert path.suffix == ".rviz"
        assert displayed_topics(path.read_text())["EdgeSAM overlay"] == "/r1/edgesam/overlay"
    finally:
        path.unlink()


def fake_prefix(root: Path, executable: bool) -> Path:
    """An ament prefix holding an rviz2 package (with or without its executable)."""
    (root / "share" / "ament_index" / "resource_index" / "packages").mkdir(parents=True)
    (root / "share" / "ament_index" / "resource_index" / "packages" / "rviz2").touch()
    if executable:
        exe = root / "lib" / "rviz2" / "rviz2"
        exe.parent.mkdir(parents=True)
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    return root


@pytest.mark.parametrize(("installed", "executable", "available"),
                         [(False, False, False), (True, False, False), (True, True, True)])
def test_rviz_is_started_only_when_rviz2_is_installed(tmp_path, monkeypatch, installed,
                                                      executable, available):
    prefix = fake_prefix(tmp_path, executable) if installed else tmp_path
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(prefix))
    assert launch_support.rviz_available() is available


def test_launch_file_asks_before_starting_rviz():
    """The rviz2 Node is created only after `rviz_available()` said yes (launch_ros-free check)."""
    source = (REPO / "launch" / "segment.launch.py").read_text()
    setup = next(n for n in ast.parse(source).body
                 if isinstance(n, ast.FunctionDef) and n.name == "_launch_setup")
    calls = [(n.lineno, ast.unparse(n.func)) for n in ast.walk(setup) if isinstance(n, ast.Call)]
    asked = min(line for line, name in calls if name == "launch_support.rviz_available")
    started = [line for line, name in calls if name == "Node"]
    assert started and min(started) > asked


@pytest.mark.parametrize(("distro", "variable"), [
    ("", "FASTDDS_DEFAULT_PROFILES_FILE"), ("kilted", "FASTDDS_DEFAULT_PROFILES_FILE"),
    ("rolling", "FASTDDS_DEFAULT_PROFILES_FILE"), ("humble", "FASTRTPS_DEFAULT_PROFILES_FILE"),
    ("jazzy", "FASTRTPS_DEFAULT_PROFILES_FILE"),
])
def test_node_environment_sets_the_variable_this_distros_fast_dds_reads(monkeypatch, distro,
                                                                        variable):
    monkeypatch.setenv("ROS_DISTRO", distro)
    assert launch_support.node_environment("large_images", REPO / "config") == {
        variable: str(PROFILE)}
    assert launch_support.node_environment("", REPO / "config") == {}
    assert launch_support.node_environment(str(PROFILE), Path("/nowhere")) == {
        variable: str(PROFILE)}


def test_node_environment_refuses_a_missing_profile(tmp_path):
    with pytest.raises(ValueError, match=f"dds_profile: {tmp_path / 'no.xml'} does not exist"):
        launch_support.node_environment(str(tmp_path / "no.xml"), REPO / "config")


def test_apply_keeps_a_users_profile_but_not_against_an_explicit_choice(tmp_path):
    env = {"FASTDDS_DEFAULT_PROFILES_FILE": "/etc/mine.xml", "ROS_DISTRO": "kilted"}
    assert dds_profile.apply(dds_profile.SHIPPED, env) == "/etc/mine.xml"
    assert env["FASTDDS_DEFAULT_PROFILES_FILE"] == "/etc/mine.xml"
    assert dds_profile.apply(str(PROFILE), env) == str(PROFILE)
    assert env["FASTDDS_DEFAULT_PROFILES_FILE"] == str(PROFILE)
    assert dds_profile.apply("", env) == "" and "FASTDDS_DEFAULT_PROFILES_FILE" not in env
    with pytest.raises(ValueError, match="does not exist"):
        dds_profile.apply(str(tmp_path / "no.xml"), env)


def test_shipped_profile_gives_shared_memory_room_for_camera_frames():
    """A 32 MB shared-memory segment (several 1920x1080 rgb8 frames) plus UDPv4, by default."""
    ns = {"d": "http://www.eprosima.com"}
    root = ET.parse(PROFILE).getroot()
    transports = {t.findtext("d:transport_id", namespaces=ns): t
                  for t in root.iterfind(".//d:transport_descriptor", ns)}
    types = {t.findtext("d:type", namespaces=ns): t for t in transports.values()}
    assert set(types) == {"SHM", "UDPv4"}
    assert int(types["SHM"].findtext("d:segment_size", namespaces=ns)) == 32 * 1024 * 1024
    participant = root.find(".//d:participant", ns)
    assert participant.get("is_default_profile") == "true"
    rtps = participant.find("d:rtps", ns)
    assert rtps.findtext("d:useBuiltinTransports", namespaces=ns) == "false"
    used = [t.text for t in rtps.iterfind("d:userTransports/d:transport_id", ns)]
    assert sorted(used) == sorted(transports)


def test_a_missing_shipped_profile_warns_and_changes_nothing(tmp_path, monkeypatch, caplog):
    """A pip install has no share/edgesam_ros/config: play must still work, saying so."""
    monkeypatch.setattr(dds_profile, "share_config_dir", lambda: tmp_path)
    env = {"ROS_DISTRO": "kilted"}
    assert dds_profile.apply(dds_profile.SHIPPED, env) == ""
    assert env == {"ROS_DISTRO": "kilted"}
    assert caplog.messages == [f"the shipped DDS profile {tmp_path / dds_profile.SHIPPED_FILE} "
                               "is not installed: large camera frames may be lost between "
                               "processes (docs/node.md)"]

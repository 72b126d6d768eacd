"""onnxruntime thread spinning: off by default (it starves the Python work around inference)."""

from __future__ import annotations

import pytest

from edgesam_ros.engine import EngineConfig
from edgesam_ros.engine.bundled import bundled_model_paths
from edgesam_ros.engine.providers import session_options

KEYS = ("session.intra_op.allow_spinning", "session.inter_op.allow_spinning")


@pytest.mark.parametrize(("allow", "value"), [(False, "0"), (True, "1")])
def test_sessions_spin_only_when_asked(allow: bool, value: str) -> None:
    options = session_options(EngineConfig(allow_spinning=allow))
    assert [options.get_session_config_entry(key) for key in KEYS] == [value, value]


def test_spinning_is_off_by_default() -> None:
    assert EngineConfig().allow_spinning is False


def test_spinning_bench_prints_both_settings(capsys) -> None:
    if not all(p.is_file() for p in bundled_model_paths()):
        pytest.skip("the bundled model is not installed")
    from edgesam_ros.bench.spinning_bench import COLUMNS, main

    assert main(["--frames", "3", "--rounds", "1", "--threads", "2"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| per frame | spinning off (default) | spinning on")
    assert [row.split(" | ")[0][2:] for row in rows[1:]] == list(COLUMNS)
    for row in rows[1:]:
        off, on = (float(v) for v in row.split(" | ")[1:3])
        assert off > 0 and on > 0

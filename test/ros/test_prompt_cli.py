"""`edgesam-ros prompt`: argument parsing and the prompts it builds."""

from __future__ import annotations

import pytest

from edgesam_ros.ros import prompt_cli

msg = pytest.importorskip("edgesam_ros.msg", reason="interfaces not built (run `make build`)")
pytestmark = pytest.mark.ros
P = msg.ObjectPrompt


def test_points_box_and_label_make_an_add_prompt():
    args = prompt_cli.parse_args(["--point", "320,240", "--point", "300,200,0",
                                  "--box", "1,2,30,40", "--label", "mug"])
    prompt = prompt_cli.build_prompt(args)
    assert prompt.action == P.ACTION_ADD and prompt.object_id == 0 and prompt.track
    assert [(p.x, p.y, p.label) for p in prompt.points] == [(320, 240, 1), (300, 200, 0)]
    assert prompt.has_box and list(prompt.box) == [1, 2, 30, 40] and prompt.label == "mug"


def test_refine_and_remove():
    refine = prompt_cli.build_prompt(prompt_cli.parse_args(["--refine", "3", "--point", "1,2"]))
    assert (refine.action, refine.object_id) == (P.ACTION_REFINE, 3)
    remove = prompt_cli.build_prompt(prompt_cli.parse_args(["--remove", "4"]))
    assert (remove.action, remove.object_id, list(remove.points)) == (P.ACTION_REMOVE, 4, [])


@pytest.mark.parametrize("argv", [[], ["--point", "1"], ["--box", "1,2,3"],
                                  ["--clear", "--remove", "2"], ["--refine", "2"],
                                  ["--point", "a,b"]])
def test_bad_arguments_exit_with_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        prompt_cli.parse_args(argv)
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err

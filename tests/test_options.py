"""Each option is declared once (vidstyle.config.OPTIONS): the parser, the API, the README
and the check messages all follow that declaration."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import pytest

from vidstyle.cli import build_parser
from vidstyle.config import JOB_OPTIONS, OPTIONS, build_job, default_text, option_flag
from vidstyle.errors import UsageError
from vidstyle.pipeline import stylize_video

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "docs"))
import options_table  # noqa: E402  (docs/ is not a package)


def test_the_readme_tables_are_the_declared_ones() -> None:
    text = (REPO / "README.md").read_text()
    assert options_table.written(text) == text, "run: python docs/options_table.py --write"


def test_every_option_is_a_flag_whose_help_gives_the_declared_default() -> None:
    actions = {flag: action for action in build_parser()._actions for flag in action.option_strings}
    for option in OPTIONS:
        action = actions[option_flag(option.name)]
        assert action.dest == option.name
        assert action.default is None  # not given: the preset and the settings decide
        default = default_text(option)
        if default is not None:
            assert f"(default: {default})" in action.help


def test_every_option_is_a_keyword_of_the_api() -> None:
    keywords = set(inspect.signature(stylize_video).parameters)
    for option in OPTIONS:
        assert option.name in JOB_OPTIONS or option.name in keywords, option.name


def test_a_parsed_command_line_builds_the_same_job_as_the_api(starry_night: Path) -> None:
    argv = ["clip.mp4", "--style", str(starry_night), "--frame-iterations", "7", "--long-term", "1,3",
            "--lr", "0.5", "--style-weights", "2", "--loop", "--quality", "draft"]  # fmt: skip
    args = build_parser().parse_args(argv)
    given = {name: getattr(args, name) for name in JOB_OPTIONS}
    from_cli = build_job([starry_night], **given)
    from_api = build_job(
        [starry_night], frame_iterations=7, long_term=(1, 3), learning_rate=0.5, style_weights=[2.0], loop=True,
        quality="draft",
    )  # fmt: skip
    assert from_cli == from_api
    assert from_api.optimizer.later_iterations == 7 and from_api.optimizer.iterations == 150


@pytest.mark.parametrize(
    ("name", "value"),
    [("frame_iterations", 0), ("tolerance", -1.0), ("learning_rate", 0.0), ("edge_margin", 99), ("passes", 0),
     ("chunk_frames", 5), ("cut_threshold", 1.0), ("size", 8), ("style_scale", 0.0), ("temporal_weight", -1.0)],
)  # fmt: skip
def test_a_bad_value_is_refused_in_the_words_of_its_flag(starry_night: Path, name: str, value: object) -> None:
    with pytest.raises(UsageError, match=f"^{option_flag(name)}"):
        build_job([starry_night], **{name: value})

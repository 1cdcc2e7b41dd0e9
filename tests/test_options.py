"""Each option is declared once (vidstyle.options.OPTIONS): the parser, the API, the README
and the check messages all follow that declaration."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import numpy as np
import pytest

from vidstyle.cli.parser import build_parser
from vidstyle.config import build_job, default_text
from vidstyle.errors import UsageError
from vidstyle.options import JOB_OPTIONS, OPTIONS, option_flag
from vidstyle.pipeline import stylize_video

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "docs"))
import options_table  # noqa: E402  (docs/ is not a package)


def test_the_readme_tables_are_the_declared_ones() -> None:
    text = (REPO / "README.md").read_text()
    assert options_table.written(text) == text, "run: python docs/options_table.py --write"
    assert options_table.PAGE.read_text() == options_table.page(), "run: python docs/options_table.py --write"


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
            "--optimizer", "adam", "--lr", "0.5", "--style-weights", "2", "--loop", "--quality", "draft"]  # fmt: skip
    args = build_parser().parse_args(argv)
    given = {name: getattr(args, name) for name in JOB_OPTIONS}
    from_cli = build_job([starry_night], **given)
    from_api = build_job(
        [starry_night], frame_iterations=7, long_term=(1, 3), optimizer="adam", learning_rate=0.5,
        style_weights=[2.0], loop=True, quality="draft",
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


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [("size", "big", "--size takes a whole number or source; got 'big'"),
     ("size", 64.5, "--size takes a whole number or source; got 64.5"),
     ("iterations", True, "--iterations takes a whole number; got True"),
     ("tv_weight", "5", "--tv-weight takes a number; got '5'"),
     ("preserve_colors", 1, "--preserve-colors takes True or False; got 1"),
     ("style_weights", ["a"], "--style-weights takes a list of numbers; got ['a']"),
     ("long_term", "1,2", "--long-term takes a list of whole numbers; got '1,2'"),
     ("init", 3, "--init takes text; got 3")],
)  # fmt: skip
def test_an_api_value_of_the_wrong_type_is_refused_in_one_line(
    starry_night: Path, name: str, value: object, message: str
) -> None:
    with pytest.raises(UsageError) as refused:
        build_job([starry_night], **{name: value})
    assert str(refused.value) == message


def test_api_values_of_numpy_types_and_paths_are_taken(starry_night: Path, great_wave: Path) -> None:
    job = build_job([starry_night], size=np.int64(64), style_weight=np.float32(3), init=great_wave, long_term=[1, 2])
    assert (job.size, job.losses.style, job.init, job.temporal.long_term) == (64, 3.0, str(great_wave), (1, 2))


def test_a_video_starts_from_an_init_image_given_as_a_path(
    pens_clip: Path, starry_night: Path, great_wave: Path, tmp_path: Path
) -> None:
    """The work folder's manifest is JSON: a Path there once failed the render with a TypeError."""
    output = tmp_path / "out.mp4"
    report = stylize_video(
        pens_clip, starry_night, output, init=great_wave, frames=2, size=32, iterations=2, frame_iterations=1
    )
    assert report.output == output and output.exists()


@pytest.mark.parametrize(("text", "seconds"), [("12.5", 12.5), ("1/3", 1 / 3), ("1:20", 80), ("1:02:03.5", 3723.5)])
def test_a_time_is_read_as_seconds_or_clock_time(starry_night: Path, text: str, seconds: float) -> None:
    args = build_parser().parse_args(["clip.mp4", "--style", str(starry_night), "--start", text])
    assert float(args.start) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["1:99", "1:60", "1:-5", "-1:30", "ten", "1:2:3:4"])
def test_a_clock_time_out_of_range_is_refused(starry_night: Path, text: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["clip.mp4", "--style", str(starry_night), f"--start={text}"])
    assert exit_info.value.code == 2
    assert f"not a time: {text!r}" in capsys.readouterr().err

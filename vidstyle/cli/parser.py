"""The command line's parsers: one for a render, one for each other command, every option
declared once in ``options.OPTIONS``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any, NoReturn

from vidstyle.config import default_text, option_choices, option_default, option_value_type
from vidstyle.errors import InputFileError
from vidstyle.filetypes import local_path
from vidstyle.options import (
    ENGINE,
    OPTIONS,
    PRESETS,
    RENAMED_OPTIONS,
    SIZE_AND_QUALITY,
    STYLE,
    TEMPORAL,
    VIDEO,
    Option,
    option_flag,
    option_named,
)
from vidstyle.version import __version__

# --preview renders this much unless --duration or --frames says otherwise.
PREVIEW_SECONDS = Fraction(3)

PROG = "vidstyle"


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line, exit 2. Options are spelled out
    (no abbreviations), so that a preview's advice can drop the preview's own options."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_abbrev=False, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parse_time(text: str) -> Fraction:
    """Seconds as 12.5, 1/3, or [hh:]mm:ss(.s)."""
    try:
        parts = text.split(":")
        if len(parts) > 3:
            raise ValueError
        value = Fraction(0)
        for position, part in enumerate(parts):
            number = Fraction(part)
            # In mm:ss, 1:99 is more likely a typo than 2:39.
            if len(parts) > 1 and (number < 0 or (position > 0 and number >= 60)):
                raise ValueError
            value = value * 60 + number
        return value
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"not a time: {text!r} (use seconds like 12.5, or mm:ss)") from None


def parse_path(text: str) -> Path:
    try:
        return local_path(text)
    except InputFileError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _offsets(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of frame offsets: {text!r} (e.g. 1,2,4)") from None


def _whole_number(low: int, high: int) -> Callable[[str], int]:
    """argparse's type for a whole number from ``low`` to ``high``."""

    def parse(text: str) -> int:
        if not text.isdigit() or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"give a whole number from {low} to {high}: {text!r}")
        return int(text)

    return parse


def _number_or_words(kind: type, words: tuple[str, ...]) -> Callable[[str], object]:
    """argparse's type for a value that is a number or one of a few words (``--size source``)."""

    def parse(text: str) -> object:
        if text in words:
            return text
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number or {' or '.join(words)}: {text!r}") from None

    return parse


def argument_keywords(option: Option, *, parsed_default: bool = False) -> dict[str, Any]:
    """argparse's keywords for an option: its type and choices from the field it sets, and its
    default in the help. The parsed value stays None ("not given", so that the preset and the
    settings fill it) unless ``parsed_default``."""
    kind, words = option_value_type(option)
    default = default_text(option)
    keywords: dict[str, Any] = {"help": option.help + (f" (default: {default})" if default else "")}
    if parsed_default:
        keywords["default"] = option_default(option)
    if option.metavar:
        keywords["metavar"] = option.metavar
    if kind is bool:
        return keywords | {"action": "store_true", "default": None}
    if choices := option_choices(option):
        return keywords | {"choices": list(choices)}
    if words:
        return keywords | {"type": _number_or_words(kind, words)}
    if kind == tuple[int, ...]:
        return keywords | {"type": _offsets}
    if kind == tuple[float, ...]:
        return keywords | {"type": float, "nargs": "+"}
    return keywords | {"type": kind}


_EPILOG = """\
examples:
  {prog} clip.mp4 --style monet.jpg                  writes clip.monet.mp4
  {prog} clip.mp4 --style monet.jpg --preview        3 s with a small budget, and an estimate of the full render
  {prog} clip.mp4 --style monet.jpg --start 1:20 --duration 10 -o part.mp4
  {prog} photo.jpg --style a.jpg b.jpg --style-weights 0.7 0.3 -o out.png
  {prog} clip.mp4 --style monet.jpg --preserve-colors      keep the clip's colours (a red pen stays red)
  {prog} clip.mp4 --style monet.jpg --content-weight 3     more of the clip's shapes, less of the painting
  {prog} clip.mp4 --style monet.jpg --ray auto             shots in parallel on a Ray cluster
  {prog} try clip.mp4 --style a.jpg b.jpg c.jpg      one frame in each style, on one sheet
  {prog} probe clip.mp4                              what a video file holds
  {prog} peek clip.monet.mp4                         during a long render: the frames finished so far
  {prog} metrics clip.mp4 clip.monet.mp4 --style monet.jpg   how steady and how stylized

quality presets (explicit options override them):
{presets}

An interrupted video render resumes when the same command is run again."""


def _presets_text() -> str:
    return "\n".join(
        f"  {name:<8} video {p.video_size} px, image {p.image_size} px; iterations {p.iterations} for a first frame, "
        f"{p.later_iterations} for a later one"
        for name, p in PRESETS.items()
    )


def _add_render_range(video: argparse._ArgumentGroup) -> None:
    """The video section's own flags: a preview, the part rendered, the work folder."""
    video.add_argument(
        "--preview",
        action="store_true",
        help="render a few seconds with a small budget, at the full render's size (INPUT.STYLE.preview.mp4), and "
        "estimate the full render",
    )
    video.add_argument("--start", type=parse_time, metavar="TIME", help="render from this time (seconds or mm:ss)")
    video.add_argument(
        "--duration", type=parse_time, metavar="TIME", help=f"render this long (preview default: {PREVIEW_SECONDS} s)"
    )
    video.add_argument("--frames", type=int, metavar="N", help="render at most N frames")
    video.add_argument(
        "--keep-frames", action="store_true", help="keep the work folder of stylized PNG frames after success"
    )
    video.add_argument(
        "--restart", action="store_true", help="discard frames left by an earlier run with other settings"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        usage=f"{PROG} INPUT --style IMAGE [IMAGE ...] [-o OUTPUT] [options]\n"
        f"       {PROG} try INPUT --style IMAGE [IMAGE ...]\n"
        f"       {PROG} studio [--root DIR]\n"
        f"       {PROG} probe FILE\n"
        f"       {PROG} peek OUTPUT\n"
        f"       {PROG} metrics SOURCE STYLIZED [--style IMAGE] [--json]",
        description="Paint a video (or an image) in the style of an artwork, steady from frame to frame.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG.format(prog=PROG, presets=_presets_text()),
    )
    parser.add_argument("input", type=parse_path, help="video or image to stylize")
    parser.add_argument(
        "-s", "--style", type=parse_path, nargs="+", required=True, metavar="IMAGE", help="painting(s) to imitate"
    )
    parser.add_argument(
        "-o", "--output", type=parse_path, help="output file (default: INPUT.STYLE.ext beside the input)"
    )
    parser.add_argument("-y", "--overwrite", action="store_true", help="replace the output if it exists")
    parser.add_argument("-V", "--version", action="version", version=f"{PROG} {__version__}")

    sections = {name: parser.add_argument_group(name) for name in (SIZE_AND_QUALITY, STYLE, VIDEO, TEMPORAL, ENGINE)}
    _add_render_range(sections[VIDEO])
    for option in OPTIONS:
        sections[option.section].add_argument(option_flag(option.name), dest=option.name, **argument_keywords(option))
    sections[TEMPORAL].add_argument("--no-cut-detection", action="store_true", help="never treat a frame as a new shot")
    for old in RENAMED_OPTIONS:  # refused in one line that names the new spelling
        parser.add_argument(option_flag(old), dest=f"renamed_{old}", help=argparse.SUPPRESS)

    output = parser.add_argument_group("output")
    output.add_argument("-q", "--quiet", action="store_true", help="no progress bar, only errors and the output path")
    output.add_argument("-v", "--verbose", action="store_true", help="more detail in the log")
    output.add_argument("--debug", action="store_true", help="show a traceback on unexpected errors")
    return parser


def build_metrics_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=f"{PROG} metrics",
        description="How steady and how stylized a stylized video is, against its source.",
        epilog="The warping error compares each stylized frame with the previous one warped along the "
        "source's optical flow, where that flow is reliable (Ruder et al. 2016); lower is steadier. It is the "
        "measure a render prints, there taken on its lossless frames before encoding: on an encoded file it "
        "reads otherwise: compression adds errors of its own and smooths away some of the frames' own.",
    )
    parser.add_argument("source", type=parse_path, help="the original video")
    parser.add_argument("stylized", type=parse_path, help="the stylized video")
    parser.add_argument(
        "-s", "--style", type=parse_path, nargs="+", metavar="IMAGE", help="style image(s), for the style loss"
    )
    for name in ("style_scale", "cut_threshold"):  # as used for the render
        option = option_named(name)
        parser.add_argument(option_flag(name), dest=name, **argument_keywords(option, parsed_default=True))
    parser.add_argument("--start", type=parse_time, metavar="TIME", help="the part of the source that was rendered")
    parser.add_argument("--duration", type=parse_time, metavar="TIME")
    parser.add_argument("--frames", type=int, metavar="N")
    parser.add_argument(
        "--every",
        type=int,
        metavar="N",
        help="measure the losses on every N-th frame (default: about 8 frames spread over the clip)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def one_file_parser(command: str, description: str, name: str, help: str) -> argparse.ArgumentParser:
    """The parser of a command that takes one file (``probe``, ``peek``)."""
    parser = Parser(prog=f"{PROG} {command}", description=description)
    parser.add_argument(name, type=parse_path, help=help)
    return parser


# The options of a render that ``vidstyle try`` takes: the look of a frame, not of a video.
TRY_OPTIONS = ("quality", "size", "iterations", "style_weight", "content_weight", "preserve_colors", "device")


def build_try_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=f"{PROG} try",
        description="Paint one frame of a clip (or an image) in each of several styles, side by side with the "
        "frame, on one sheet: choose a style by looking, in seconds, before a preview.",
        epilog=f"example: {PROG} try clip.mp4 --style monet.jpg starry_night.jpg great_wave.jpg",
    )
    parser.add_argument("input", type=parse_path, help="video or image")
    parser.add_argument(
        "-s", "--style", type=parse_path, nargs="+", required=True, metavar="IMAGE", help="the styles to try"
    )
    parser.add_argument("--at", type=parse_time, metavar="TIME", help="the frame at this time (default: the middle)")
    parser.add_argument("-o", "--output", type=parse_path, help="the sheet (default: INPUT.try.jpg beside it)")
    parser.add_argument("-y", "--overwrite", action="store_true", help="replace the sheet if it exists")
    for name in TRY_OPTIONS:
        option = option_named(name)
        keywords = argument_keywords(option)
        if name == "quality":
            keywords["help"] = "preset for size and budget (default: preview)"
        parser.add_argument(option_flag(name), dest=name, **keywords)
    return parser


# The largest file the studio's page takes (its folder takes any: put a long film there).
STUDIO_UPLOAD_LIMIT_MB = 4096


def build_studio_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=f"{PROG} studio",
        description="A page in your browser to try styles on a frame, preview, start renders and watch them "
        "come in. It serves this computer only (127.0.0.1), to whoever has the address it prints, and reads and "
        "writes files in one folder only.",
        epilog="Renders run one at a time, each as the command line runs it, with the same work folder beside "
        "its output: Ctrl-C stops the studio and its renders, and either the studio or the command shown on the "
        "page resumes them.",
    )
    parser.add_argument("--root", type=parse_path, default=Path("."), metavar="DIR",
                        help="the folder whose clips and paintings the page uses (default: this one)")  # fmt: skip
    parser.add_argument(
        "--port", type=_whole_number(0, 65535), default=0, metavar="N", help="the port (default: 0, a free one)"
    )
    parser.add_argument("--no-browser", action="store_true", help="print the address, do not open a browser")
    parser.add_argument(
        "--upload-limit",
        type=_whole_number(1, 1 << 30),
        default=STUDIO_UPLOAD_LIMIT_MB,
        metavar="MB",
        help=f"the largest file the page takes (default: {STUDIO_UPLOAD_LIMIT_MB} MB)",
    )
    return parser


def build_peek_parser() -> argparse.ArgumentParser:
    description = (
        "During a long render: encode the frames finished so far to OUTPUT.peek.mp4 beside the output (at the "
        "painted size, without sound), to look at while the render goes on undisturbed."
    )
    return one_file_parser("peek", description, "output", "the output of the render (clip.monet.mp4)")


def build_probe_parser() -> argparse.ArgumentParser:
    description = (
        "Show what a video file holds, and its shots as a render will plan them (a quick pass over every frame "
        "at low resolution)."
    )
    return one_file_parser("probe", description, "file", "video file (or image)")

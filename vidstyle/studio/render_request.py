"""What the page asks a render to be, turned into the command line that renders it.

The page sends a clip, styles and options; the studio checks them with the command line's own
parser and ``build_job`` (every option declared once, in ``options.OPTIONS``) and runs that
command line, so that a render started in the page is the render the same command resumes.
Options that would name a file (``--init``, ``--output``) or reach another machine (``--ray``)
are not taken from the page: the studio chooses the output, inside its folder.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shlex
from dataclasses import dataclass
from pathlib import Path

from vidstyle.cli.parser import PROG, build_parser
from vidstyle.config import build_job
from vidstyle.errors import UsageError
from vidstyle.filetypes import is_image_path
from vidstyle.imageops import read_image
from vidstyle.options import JOB_OPTIONS, option_flag
from vidstyle.render_setup import video_output_path
from vidstyle.studio.folder import StudioFolder
from vidstyle.video_info import probe

REFUSED_OPTIONS = frozenset({"init", "ray", "ray_cpus_per_task"})
# The part of a clip to render, besides the job's options.
RANGE_OPTIONS = ("start", "duration", "frames")


@dataclass(frozen=True)
class RenderRequest:
    """A render as the command line says it: ``arguments`` after ``vidstyle``, relative to the
    studio's folder (the command's working folder), and the output it writes."""

    clip: str
    styles: tuple[str, ...]
    arguments: tuple[str, ...]
    output: Path
    preview: bool

    @property
    def command(self) -> str:
        """The command that renders (or resumes) it, run in the studio's folder."""
        return f"{PROG} {shlex.join(self.arguments)}"


ALLOWED_OPTIONS = (JOB_OPTIONS - REFUSED_OPTIONS) | set(RANGE_OPTIONS) | {"no_cut_detection", "keep_frames"}


def option_arguments(options: dict[str, object]) -> list[str]:
    """The page's options (keyword -> value: True for a switch, a list for several values) as
    command-line arguments, only those the studio takes."""
    arguments: list[str] = []
    for name, value in options.items():
        if name not in ALLOWED_OPTIONS:
            raise UsageError(f"the studio does not take the option {name!r}")
        if value is None or value == "" or value is False:
            continue
        values = [] if value is True else [str(item) for item in value] if isinstance(value, list) else [str(value)]
        arguments += [option_flag(name), *values]
    return _checked(arguments)


def extra_arguments(text: str) -> list[str]:
    """Options typed on the page as on the command line (``--passes 2``): split as a shell
    would, never run by one, and only the options ``option_arguments`` takes."""
    try:
        return _checked(shlex.split(text))
    except ValueError as error:
        raise UsageError(f"more options: {error}") from None


def _checked(words: list[str]) -> list[str]:
    """``words``, if every flag among them (a value too may look like one) is one the studio
    takes: none names a file or another machine."""
    flags = {option_flag(name) for name in ALLOWED_OPTIONS}
    for word in words:
        if word.startswith("-") and not _is_number(word) and word.split("=")[0] not in flags:
            raise UsageError(f"the studio does not take {word}: it chooses the files, and renders on this computer")
    return words


def render_request(
    folder: StudioFolder,
    clip: str,
    styles: list[str],
    options: dict[str, object],
    *,
    preview: bool,
    output: Path,
    extra: str = "",
) -> RenderRequest:
    """The render of ``clip`` in ``styles`` with ``options`` and the options typed in ``extra``
    into ``output`` (a preview's 3 s with ``preview``), checked as the command line checks it;
    a bad value raises UsageError."""
    if not styles:
        raise UsageError("choose at least one style")
    clip_path = folder.resolve(clip)
    style_paths = [folder.resolve(style, readable_sample=True) for style in styles]
    for path in (clip_path, *style_paths):
        if not path.is_file():
            raise UsageError(f"{folder.name_of(path)}: no such file")
    _check_readable(folder, clip_path, style_paths)
    arguments = [
        _relative(folder, clip_path),
        "--style",
        *(_relative(folder, path) for path in style_paths),
        *option_arguments(options),
        *extra_arguments(extra),
        "--output",
        _relative(folder, output),
    ]
    if preview:
        arguments.append("--preview")
    args = parse_render_arguments(arguments)
    # Every value checked now, not in the background.
    build_job(args.style, **{name: getattr(args, name) for name in JOB_OPTIONS if hasattr(args, name)})
    return RenderRequest(clip, tuple(styles), tuple(arguments), output, preview)


def default_output(folder: StudioFolder, clip: str, styles: list[str]) -> Path:
    """Where the command line would write the render: ``clip.style.mp4`` beside the clip."""
    clip_path = folder.resolve(clip)
    style_paths = tuple(folder.resolve(style, readable_sample=True) for style in styles)
    return video_output_path(clip_path, build_job(list(style_paths)), None)


def parse_render_arguments(arguments: list[str]) -> argparse.Namespace:
    """The command line's parse of a render's ``arguments``; its one-line error as a UsageError."""
    return parse_with(build_parser(), arguments)


def parse_with(parser: argparse.ArgumentParser, arguments: list[str]) -> argparse.Namespace:
    """``parser``'s parse of ``arguments``, its one-line error (which it would print before
    exiting) raised as a UsageError for the page instead."""
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said), contextlib.redirect_stdout(said):
            return parser.parse_args(arguments)
    except SystemExit:
        lines = said.getvalue().strip().splitlines() or ["not what the command line takes"]
        raise UsageError(lines[-1].removeprefix(f"{parser.prog}: error: ")) from None


def _check_readable(folder: StudioFolder, clip: Path, styles: list[Path]) -> None:
    """Refuse now what the render would refuse in the background: a clip that is no video, a
    style that is no picture."""
    if is_image_path(clip):
        raise UsageError(f"{folder.name_of(clip)} is a picture: try styles on it; the studio renders videos")
    probe(clip)
    for style in styles:
        read_image(style)


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _relative(folder: StudioFolder, path: Path) -> str:
    """A path as the command run in the studio's folder names it (a sample: its full path)."""
    return path.relative_to(folder.root).as_posix() if path.is_relative_to(folder.root) else str(path)

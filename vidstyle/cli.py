"""Command line: argparse -> settings -> pipeline. The only module that prints or exits."""

from __future__ import annotations

import argparse
import json
import logging
import re
import shlex
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from tqdm import tqdm

from vidstyle.config import (
    ENGINE,
    OPTIONS,
    PRESETS,
    RENAMED_OPTIONS,
    SIZE_AND_QUALITY,
    STYLE,
    TEMPORAL,
    VIDEO,
    Job,
    Option,
    TemporalSettings,
    build_job,
    cluster_settings,
    default_text,
    encode_settings,
    option_choices,
    option_default,
    option_flag,
    option_named,
    option_value_type,
    refuse_video_options,
    renamed_option_error,
)
from vidstyle.errors import DeviceError, InputFileError, UsageError, VidstyleError
from vidstyle.filetypes import is_image_path, local_path
from vidstyle.version import __version__

# The modules that do the work (torch, OpenCV, PyAV) are imported where work starts, so that
# --help and a usage error answer at once.
if TYPE_CHECKING:
    from vidstyle.detail_pass import DetailProgress
    from vidstyle.pipeline import FrameProgress, VideoReport
    from vidstyle.video_io import Segment

# --preview renders this much unless --duration or --frames says otherwise.
PREVIEW_SECONDS = Fraction(3)

PROG = "vidstyle"

log = logging.getLogger("vidstyle")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line, exit 2. Options are spelled out
    (no abbreviations), so that a preview's advice can drop the preview's own options."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_abbrev=False, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _fraction(text: str) -> Fraction:
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


def _path(text: str) -> Path:
    try:
        return local_path(text)
    except InputFileError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _offsets(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of frame offsets: {text!r} (e.g. 1,2,4)") from None


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


def _argument(option: Option, *, parsed_default: bool = False) -> dict[str, Any]:
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


def build_parser() -> argparse.ArgumentParser:
    presets = "\n".join(
        f"  {name:<8} video {p.video_size} px, image {p.image_size} px; iterations {p.iterations} for a first frame, "
        f"{p.later_iterations} for a later one"
        for name, p in PRESETS.items()
    )
    parser = _Parser(
        prog=PROG,
        usage=f"{PROG} INPUT --style IMAGE [IMAGE ...] [-o OUTPUT] [options]\n"
        f"       {PROG} probe FILE\n"
        f"       {PROG} peek OUTPUT\n"
        f"       {PROG} metrics SOURCE STYLIZED [--style IMAGE] [--json]",
        description="Paint a video (or an image) in the style of an artwork, steady from frame to frame.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"""\
examples:
  {PROG} clip.mp4 --style monet.jpg                  writes clip.monet.mp4
  {PROG} clip.mp4 --style monet.jpg --preview        3 s with a small budget, and an estimate of the full render
  {PROG} clip.mp4 --style monet.jpg --start 1:20 --duration 10 -o part.mp4
  {PROG} photo.jpg --style a.jpg b.jpg --style-weights 0.7 0.3 -o out.png
  {PROG} clip.mp4 --style monet.jpg --preserve-colors      keep the clip's colours (a red pen stays red)
  {PROG} clip.mp4 --style monet.jpg --content-weight 3     more of the clip's shapes, less of the painting
  {PROG} clip.mp4 --style monet.jpg --ray auto             shots in parallel on a Ray cluster
  {PROG} probe clip.mp4                              what a video file holds
  {PROG} peek clip.monet.mp4                         during a long render: the frames finished so far
  {PROG} metrics clip.mp4 clip.monet.mp4 --style monet.jpg   how steady and how stylized

quality presets (explicit options override them):
{presets}

An interrupted video render resumes when the same command is run again.""",
    )
    parser.add_argument("input", type=_path, help="video or image to stylize")
    parser.add_argument(
        "-s", "--style", type=_path, nargs="+", required=True, metavar="IMAGE", help="painting(s) to imitate"
    )
    parser.add_argument("-o", "--output", type=_path, help="output file (default: INPUT.STYLE.ext beside the input)")
    parser.add_argument("-y", "--overwrite", action="store_true", help="replace the output if it exists")
    parser.add_argument("-V", "--version", action="version", version=f"{PROG} {__version__}")

    sections = {name: parser.add_argument_group(name) for name in (SIZE_AND_QUALITY, STYLE, VIDEO, TEMPORAL, ENGINE)}
    video = sections[VIDEO]
    video.add_argument(
        "--preview",
        action="store_true",
        help="render a few seconds with a small budget, at the full render's size (INPUT.STYLE.preview.mp4), and "
        "estimate the full render",
    )
    video.add_argument("--start", type=_fraction, metavar="TIME", help="render from this time (seconds or mm:ss)")
    video.add_argument(
        "--duration", type=_fraction, metavar="TIME", help=f"render this long (preview default: {PREVIEW_SECONDS} s)"
    )
    video.add_argument("--frames", type=int, metavar="N", help="render at most N frames")
    video.add_argument(
        "--keep-frames", action="store_true", help="keep the work folder of stylized PNG frames after success"
    )
    video.add_argument(
        "--restart", action="store_true", help="discard frames left by an earlier run with other settings"
    )
    for option in OPTIONS:
        sections[option.section].add_argument(option_flag(option.name), dest=option.name, **_argument(option))
    sections[TEMPORAL].add_argument("--no-cut-detection", action="store_true", help="never treat a frame as a new shot")
    for old in RENAMED_OPTIONS:  # refused in one line that names the new spelling
        parser.add_argument(option_flag(old), dest=f"renamed_{old}", help=argparse.SUPPRESS)

    output = parser.add_argument_group("output")
    output.add_argument("-q", "--quiet", action="store_true", help="no progress bar, only errors and the output path")
    output.add_argument("-v", "--verbose", action="store_true", help="more detail in the log")
    output.add_argument("--debug", action="store_true", help="show a traceback on unexpected errors")
    return parser


def build_metrics_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=f"{PROG} metrics",
        description="How steady and how stylized a stylized video is, against its source.",
        epilog="The warping error compares each stylized frame with the previous one warped along the "
        "source's optical flow, where that flow is reliable (Ruder et al. 2016); lower is steadier. It is the "
        "measure a render prints, there taken on its lossless frames before encoding: on an encoded file it "
        "reads higher by what the compression adds.",
    )
    parser.add_argument("source", type=_path, help="the original video")
    parser.add_argument("stylized", type=_path, help="the stylized video")
    parser.add_argument(
        "-s", "--style", type=_path, nargs="+", metavar="IMAGE", help="style image(s), for the style loss"
    )
    for name in ("style_scale", "cut_threshold"):  # as used for the render
        option = option_named(name)
        parser.add_argument(option_flag(name), dest=name, **_argument(option, parsed_default=True))
    parser.add_argument("--start", type=_fraction, metavar="TIME", help="the part of the source that was rendered")
    parser.add_argument("--duration", type=_fraction, metavar="TIME")
    parser.add_argument("--frames", type=int, metavar="N")
    parser.add_argument(
        "--every",
        type=int,
        metavar="N",
        help="measure the losses on every N-th frame (default: about 8 frames spread over the clip)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def _run_metrics(argv: Sequence[str]) -> int:
    args = build_metrics_parser().parse_args(argv)
    from vidstyle.metrics import MEASURE_FLOW_LONG_SIDE, check_same_picture, measure_videos, sampled_every
    from vidstyle.video_io import Segment, expected_frame_count, probe

    if args.every is not None and args.every < 1:
        raise UsageError("--every must be at least 1")
    temporal = TemporalSettings(cut_threshold=args.cut_threshold)
    source_info, stylized_info = probe(args.source), probe(args.stylized)
    check_same_picture(source_info.width, source_info.height, stylized_info.width, stylized_info.height)
    expected = expected_frame_count(stylized_info, Segment())  # the whole stylized file is measured
    every = args.every or sampled_every(expected)
    with _progress("frame", "measuring", args.json) as bar:
        result = measure_videos(
            args.source,
            args.stylized,
            segment=Segment(start=args.start or Fraction(0), duration=args.duration, frames=args.frames),
            styles=tuple(args.style or ()),
            style_scale=args.style_scale,
            temporal=temporal,
            losses_every=every,
            on_frame=lambda done: bar.count(done, expected),
        )
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
        return 0

    def number(value: float | None, fmt: str) -> str:
        return "n/a" if value is None else format(value, fmt)

    style_scale = (
        f" (the unpainted source: {number(result.source_style_loss, '.4f')}; lower is nearer the painting; "
        f"on {-(-result.frames // every)} frames, every {every}th)"
    )
    long_side = min(max(result.width, result.height), MEASURE_FLOW_LONG_SIDE)
    rows = [
        ("frames", f"{result.frames} at {result.width}x{result.height}"),
        (
            "warping error",
            f"{number(result.warping_error, '.3e')} ({_steadiness(result.warping_error, result.source_warping_error)}; "
            f"the source itself: {number(result.source_warping_error, '.3e')}; lower is steadier; mean over "
            f"{len(result.warping_errors)} frame pairs, measured at {long_side} px)",
        ),
        (
            "style loss",
            number(result.style_loss, ".4f") + (style_scale if args.style else " (give --style to measure)"),
        ),
        (
            "content loss",
            number(result.content_loss, ".4f")
            + (" (the source itself: 0; higher is more painted over)" if args.style else ""),
        ),
        (
            "border line",
            f"{number(result.border_line, '.2f')} (source {number(result.source_border_line, '.2f')}; "
            "about 1-4 without a line along the edges)",
        ),
        ("shot cuts", ", ".join(map(str, result.cuts)) or "none"),
    ]
    for key, value in rows:
        print(f"{key:<14} {value}")
    return 0


def _steadiness(error: float | None, source_error: float | None) -> str:
    """A verdict on a warping error, against the source's own: a painting that follows the
    motion changes between frames about as much as the footage does. Measured on pens.mp4 at
    176 px (2026-12-05): a render at the defaults 1.2x the source's, its frames painted one by
    one 135x; a panned picture at 640x360, delivered by the detail pass, 0.6x."""
    if error is None or not source_error:
        return "no frame pairs to judge"
    ratio = error / source_error
    verdict = "steady" if ratio <= 3 else "some flicker" if ratio <= 30 else "flickers"
    return f"{verdict}: {ratio:.1f}x the source's"


def _one_file_parser(command: str, description: str, name: str, help: str) -> argparse.ArgumentParser:
    """The parser of a command that takes one file (``probe``, ``peek``)."""
    parser = _Parser(prog=f"{PROG} {command}", description=description)
    parser.add_argument(name, type=_path, help=help)
    return parser


def build_peek_parser() -> argparse.ArgumentParser:
    description = (
        "During a long render: encode the frames finished so far to OUTPUT.peek.mp4 beside the output (at the "
        "painted size, without sound), to look at while the render goes on undisturbed."
    )
    return _one_file_parser("peek", description, "output", "the output of the render (clip.monet.mp4)")


def _run_peek(argv: Sequence[str]) -> int:
    args = build_peek_parser().parse_args(argv)
    from vidstyle.peek import peek

    report = peek(args.output)
    share = f"{report.frames / report.total:.0%}"
    print(f"{report.path}  {report.frames} of {report.total} frames finished ({share})")
    return 0


def build_probe_parser() -> argparse.ArgumentParser:
    description = (
        "Show what a video file holds, and its shots as a render will plan them (a quick pass over every frame "
        "at low resolution)."
    )
    return _one_file_parser("probe", description, "file", "video file (or image)")


class _TqdmHandler(logging.Handler):
    """Log lines that do not tear through a progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        tqdm.write(f"{PROG}: {record.levelname.lower()}: {record.getMessage()}", file=sys.stderr)


def _setup_logging(verbose: bool, quiet: bool) -> None:
    root = logging.getLogger("vidstyle")
    root.handlers[:] = [_TqdmHandler()]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)


class _LazyBar:
    """A tqdm bar that appears at the first update, so that an early error prints no bar."""

    def __init__(self, unit: str, desc: str, quiet: bool) -> None:
        self.unit, self.desc, self.quiet = unit, desc, quiet
        self.bar: tqdm | None = None
        self.shown = 0.0  # when working() last refreshed the bar

    def update_to(self, done: int, total: int | None, postfix: dict[str, str], *, initial: int = 0) -> None:
        """Show ``done`` of ``total``; the rate counts what was done since the bar appeared
        beyond ``initial`` (what an interrupted run had done)."""
        if self.quiet:
            return
        if self.bar is None:
            self.bar = tqdm(total=total, unit=self.unit, desc=self.desc, dynamic_ncols=True, file=sys.stderr)
        self.bar.total = total
        self.bar.initial = initial
        self.bar.n = done
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.refresh()

    def working(self, postfix: dict[str, str]) -> None:
        """Show the bar (from the first iteration, before a frame is done), at most twice a second."""
        if self.quiet or not self._due():
            return
        if self.bar is None:
            self.update_to(0, None, postfix)
        else:
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.refresh()
        self.shown = time.monotonic()

    def count(self, done: int, total: int) -> None:
        """Show ``done`` of ``total`` at most twice a second, and at the end: for counts that
        run fast (the shot plan looks at dozens of frames a second)."""
        if done < total and not self._due():
            return
        self.update_to(done, total, {})
        self.shown = time.monotonic()

    def _due(self) -> bool:
        """Whether the bar is yet to appear, or was last refreshed half a second ago or more."""
        return self.bar is None or time.monotonic() - self.shown >= 0.5

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@contextmanager
def _progress(unit: str, desc: str, quiet: bool) -> Iterator[_LazyBar]:
    bar = _LazyBar(unit, desc, quiet)
    try:
        yield bar
    finally:
        bar.close()


def _job_options(args: argparse.Namespace) -> dict[str, object]:
    from vidstyle.config import JOB_OPTIONS

    return {name: getattr(args, name) for name in JOB_OPTIONS if hasattr(args, name)}


def _run_image(args: argparse.Namespace) -> int:
    from vidstyle.image_pipeline import run_image_job

    job = build_job(args.style, **_job_options(args))
    with _progress("it", "stylizing", args.quiet) as bar:

        def on_step(done: int, planned: int, loss: float) -> None:
            bar.update_to(done, planned, {"loss": f"{loss:.4g}"})

        report = run_image_job(args.input, job, args.output, overwrite=args.overwrite, on_step=on_step)
    if not args.quiet:
        parts = report.losses
        print(
            f"{report.output}  {report.width}x{report.height}, "
            f"{report.iterations} iterations in {report.seconds:.1f} s "
            f"(content {parts.content:.3g}, style {parts.style:.3g}, tv {parts.tv:.3g})"
        )
    else:
        print(report.output)
    return 0


def _preview_job(styles: list[str | Path], options: dict[str, object], job: Job) -> Job:
    """A preview takes the preview preset's budget (options given explicitly still win), at
    the full render's size: its strokes are then the size they will be, and at 128 px, as
    before, a 1080p clip's preview was too small to judge."""
    preview = build_job(styles, **{**options, "quality": "preview"})
    return replace(preview, quality=job.quality, size=job.size)


def _segment(args: argparse.Namespace) -> Segment:
    from vidstyle.video_io import Segment

    duration = args.duration
    if args.preview and duration is None and args.frames is None:
        duration = PREVIEW_SECONDS
    return Segment(start=args.start or Fraction(0), duration=duration, frames=args.frames)


def _run_video(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from vidstyle.pipeline import run_video_job, video_output_path
    from vidstyle.workdir import work_dir_for

    options = _job_options(args)
    if args.no_cut_detection:
        options["cut_threshold"] = 0.0
    job = build_job(args.style, **options)
    run_job = _preview_job(args.style, options, job) if args.preview else job
    segment = _segment(args)
    encode = encode_settings(args.crf, args.x264_preset, args.keep_location)
    with (
        _progress("frame", "planning shots", args.quiet) as plan_bar,
        _progress("frame", "stylizing", args.quiet) as bar,
        _progress("frame", "detail pass", args.quiet) as detail_bar,
    ):

        def on_frame(progress: FrameProgress) -> None:
            plan_bar.close()
            record = progress.record
            postfix = {"s_frame": f"{record.seconds:.1f}", "it": str(record.iterations)}
            bar.update_to(progress.done, progress.expected, postfix, initial=progress.done_before)

        def on_step(done: int, planned: int, loss: float) -> None:
            plan_bar.close()
            bar.working({"it": f"{done}/{planned}"})

        def on_detail(progress: DetailProgress) -> None:
            plan_bar.close()
            bar.close()
            postfix = {"s_frame": f"{progress.record.seconds:.1f}"}
            detail_bar.update_to(progress.done, progress.expected, postfix, initial=progress.done_before)

        try:
            report = run_video_job(
                args.input,
                run_job,
                args.output,
                segment=segment,
                encode=encode,
                overwrite=args.overwrite,
                keep_frames=args.keep_frames,
                restart=args.restart,
                preview=args.preview,
                on_frame=on_frame,
                on_step=on_step,
                on_plan=plan_bar.count,
                on_detail=on_detail,
                cluster=cluster_settings(args.ray, args.ray_cpus_per_task),
            )
        except KeyboardInterrupt:
            plan_bar.close()
            bar.close()
            detail_bar.close()
            output = video_output_path(args.input, run_job, args.output, preview=args.preview)
            print(f"{PROG}: {_interrupted_message(work_dir_for(output), argv)}", file=sys.stderr)
            return 130
        except Exception as error:
            if not _is_out_of_memory(error):
                raise
            plan_bar.close()
            bar.close()
            output = video_output_path(args.input, run_job, args.output, preview=args.preview)
            raise DeviceError(_out_of_memory_message(work_dir_for(output), argv)) from error
    if args.quiet:
        print(report.output)
        return 0
    _print_video_summary(report)
    if args.preview:
        _print_estimate(args, argv, job, run_job, report)
    return 0


def _interrupted_message(work: Path, argv: Sequence[str]) -> str:
    """What an interrupted render left, in words (it may stop before its work folder exists),
    and the command that goes on from there."""
    from vidstyle.workdir import WorkDir

    if not work.is_dir():
        return "interrupted before the first frame was finished; nothing was kept."
    again = f"{PROG} {shlex.join(argv)}"
    finished = len(WorkDir(work).records())
    if not finished:
        return (
            f"interrupted before the first frame was finished; the work so far is kept in {work}. "
            f"Run the same command again to go on: {again}"
        )
    frames = "frame is" if finished == 1 else "frames are"
    return f"interrupted; {finished} finished {frames} kept in {work}. Run the same command again to resume: {again}"


def _is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` says the device or the machine ran out of memory (torch raises
    OutOfMemoryError on CUDA, and a RuntimeError from its CPU allocator)."""
    text = str(error).lower()
    return isinstance(error, MemoryError) or (
        isinstance(error, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)
    )


def _out_of_memory_message(work: Path, argv: Sequence[str]) -> str:
    """What a render that ran out of memory kept, and the two ways on: the same command once
    memory is freed (it resumes), or a smaller size, which starts over."""
    from vidstyle.workdir import WorkDir, saved_setting

    finished = len(WorkDir(work).records()) if work.is_dir() else 0
    kept = f"{finished} finished frame(s) are kept in {work}" if finished else "no frame was finished"
    size = saved_setting(work, ("size",))
    smaller = max(16, int(max(size) * 0.75) // 16 * 16) if isinstance(size, list) else None
    return (
        f"the device ran out of memory while painting; {kept}. Free memory (close other programs) and run the "
        f"same command again to resume: {PROG} {shlex.join(argv)}"
        + (f"; or paint smaller, starting over: add --size {smaller} --restart" if smaller else "")
    )


def _print_video_summary(report: VideoReport) -> None:
    from vidstyle.estimate import duration_text

    resumed = ""
    if report.resumed_from:
        total = duration_text(report.all_runs_render_seconds)
        resumed = f", resumed at frame {report.resumed_from}: {total} of rendering over all runs"
    cuts = f"; shot cuts at frames {', '.join(map(str, report.cuts))}" if report.cuts else ""
    steadiness = ""
    if report.mean_warping_error is not None:
        steadiness = f"; warping error {report.mean_warping_error:.2e} before encoding"
    painted = (report.painted_width, report.painted_height)
    size = f"{report.width}x{report.height}"
    if painted != (report.width, report.height):
        size += f" (painted at {painted[0]}x{painted[1]})"
    print(
        f"{report.output}  {report.frames} frames at {size} in "
        f"{duration_text(report.seconds)} ({report.seconds_per_frame:.1f} s/frame, "
        f"{report.mean_iterations:.0f} iterations/frame{resumed}){steadiness}{cuts}"
    )


def _print_estimate(args: argparse.Namespace, argv: Sequence[str], job: Job, preview: Job, report: VideoReport) -> None:
    from vidstyle.estimate import detail_seconds_after_preview, duration_text, estimate_full_render
    from vidstyle.video_io import Segment, expected_frame_count, probe

    info = probe(args.input)
    width, height = job.processing_size(info.width, info.height, still=False)
    frames = expected_frame_count(info, Segment(start=args.start or Fraction(0)))
    command = shlex.join(full_render_command(argv))
    if frames <= report.frames:
        print(f"the clip is no longer than this preview ({report.frames} frames): render it directly: {PROG} {command}")
        return
    estimate = estimate_full_render(job, preview, report, frames, width, height)
    seconds, detail = estimate.seconds, ""
    if report.detail_width is not None:
        shots = max(1, round(frames * (len(report.cuts) + 1) / max(1, report.frames)))
        detail_part = detail_seconds_after_preview(report, fresh=shots, later=frames - shots)
        if detail_part is not None:
            seconds += detail_part
            detail = f", a detail pass at {report.detail_width}x{report.detail_height} included"
    # What --size source would take is said once, in the render's first lines: a second
    # figure for it here, from another timing, disagreed with the first.
    print(
        f"full render estimate: {frames} frames painted at {width}x{height}{detail}, about {duration_text(seconds)} "
        f"({seconds / frames:.1f} s/frame) on this machine. To render it: {PROG} {command}"
    )


# What a preview's advice leaves out, with how many values follow each: the preview's own
# part and output, and -y, which would let the advice replace a finished render or the preview.
_PREVIEW_ONLY = {"--preview": 0, "--duration": 1, "--frames": 1, "-o": 1, "--output": 1, "-y": 0, "--overwrite": 0}


def full_render_command(argv: Sequence[str]) -> list[str]:
    """A preview's command line, made the full render's: the whole video to its default output."""
    command: list[str] = []
    tokens = iter(argv)
    for token in tokens:
        name = token.split("=", 1)[0]
        if name in _PREVIEW_ONLY:
            if _PREVIEW_ONLY[name] and "=" not in token:
                next(tokens, None)
            continue
        if token.startswith("-o") and not token.startswith("--"):
            continue  # -oFILE
        if re.fullmatch(r"-[a-zA-Z]+", token) and "y" in token:  # -qy: short flags together
            token = token.replace("y", "")
            if token == "-":
                continue
        command.append(token)
    return command


def _run_probe(argv: Sequence[str]) -> int:
    args = build_probe_parser().parse_args(argv)
    from vidstyle.shots import plan_shots
    from vidstyle.video_io import Segment, expected_frame_count, probe

    info = probe(args.file)
    if is_image_path(args.file):
        # A still image has no frame rate, duration, audio or shots to speak of.
        size = f"{info.width}x{info.height}"
        _print_rows([("file", str(info.path)), ("image", f"{info.codec}, {info.pixel_format}"), ("size", size)])
        return 0
    rate = f"{float(info.frame_rate):.3f} fps ({info.frame_rate})" if info.frame_rate else "unknown"
    count = f"{info.frame_count}" + ("" if info.frame_count_exact else " (estimate)")
    duration = f"{float(info.duration):.3f} s" if info.duration is not None else "unknown"
    scan = ", interlaced" if info.interlaced else ""
    shape_notes = [f"rotated {info.rotation} deg for display"] if info.rotation else []
    if info.sample_aspect != 1:
        aspect = info.sample_aspect
        shape_notes.append(f"pixels {aspect.numerator}:{aspect.denominator}, read as square ones")
    rows = [
        ("file", str(info.path)),
        ("container", info.container),
        ("video", f"{info.codec}, {info.pixel_format}, {info.color_range} range{scan}"),
        ("colour", f"{info.transfer} transfer, {info.primaries} primaries" + (" (HDR)" if info.hdr else "")),
        ("size", f"{info.width}x{info.height}" + "".join(f" ({note})" for note in shape_notes)),
        ("frame rate", rate),
        ("frames", count),
        ("duration", duration),
        ("time base", str(info.time_base)),
    ]
    rows += [
        (f"audio #{a.index}", f"{a.codec}, {a.sample_rate} Hz, {a.channels} channel{'s' if a.channels != 1 else ''}")
        for a in info.audio
    ] or [("audio", "none")]
    rows += [(f"subtitles #{s.index}", s.codec + (f" ({s.language})" if s.language else "")) for s in info.subtitles]
    rows += [("chapters", str(info.chapters))] if info.chapters else []
    rows += [("attachments", ", ".join(info.attachments))] if info.attachments else []
    rows += [(f"meta {key}", value) for key, value in info.metadata.items()]
    expected = expected_frame_count(info, Segment())
    with _progress("frame", "planning shots", False) as bar:
        shots = plan_shots(
            args.file, Segment(), TemporalSettings(), info.frame_rate, lambda done: bar.count(done, expected)
        )
    rows += [("shots", str(len(shots.shots))), *shots.describe()]
    _print_rows(rows)
    return 0


def _print_rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] == "probe":
        return _run_probe(argv[1:])
    if argv and argv[0] == "metrics":
        return _run_metrics(argv[1:])
    if argv and argv[0] == "peek":
        return _run_peek(argv[1:])
    args = build_parser().parse_args(argv)
    for old in RENAMED_OPTIONS:
        if getattr(args, f"renamed_{old}") is not None:
            raise renamed_option_error(old)
    _setup_logging(args.verbose, args.quiet)
    if is_image_path(args.input):
        refuse_video_options(vars(args))
        return _run_image(args)
    return _run_video(args, argv)


def _interrupt_on_termination() -> None:
    """Treat SIGTERM and SIGHUP (a closed terminal, a shutdown) like Ctrl-C: stop cleanly, resumable."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        # A signal the process was started ignoring stays ignored: nohup ignores SIGHUP so
        # that a render outlives its terminal.
        if hasattr(signal, name) and signal.getsignal(getattr(signal, name)) != signal.SIG_IGN:
            signal.signal(getattr(signal, name), interrupt)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vidstyle`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    started = time.monotonic()
    try:
        return _dispatch(argv)
    except SystemExit as exit_request:  # argparse after --help, --version or a usage error
        return exit_request.code if isinstance(exit_request.code, int) else 0
    except VidstyleError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted after {time.monotonic() - started:.0f} s", file=sys.stderr)
        return 130
    except Exception as error:
        if _is_out_of_memory(error):
            error = DeviceError("the device ran out of memory; try a smaller --size")
            print(f"{PROG}: error: {error}", file=sys.stderr)
            return 1
        if debug:
            raise
        print(
            f"{PROG}: internal error: {type(error).__name__}: {error} (rerun with --debug for details)", file=sys.stderr
        )
        return 1


def main_exit() -> NoReturn:
    """Console-script wrapper: exit with ``main``'s code."""
    _interrupt_on_termination()
    sys.exit(main())


if __name__ == "__main__":
    main_exit()

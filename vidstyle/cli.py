"""Command line: argparse -> settings -> pipeline. The only module that prints or exits."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import NoReturn, get_args

from tqdm import tqdm

from vidstyle import __version__
from vidstyle.config import (
    PRESETS,
    DeviceName,
    OptimizerName,
    OutputSizeName,
    PrecisionName,
    QualityName,
    build_job,
)
from vidstyle.encoder import WEIGHTS_NAMES
from vidstyle.errors import DeviceError, UsageError, VidstyleError
from vidstyle.image_pipeline import ImageReport, run_image_job
from vidstyle.imageops import is_image_path
from vidstyle.video_io import probe

PROG = "vidstyle"
COMMANDS = ("probe",)

log = logging.getLogger("vidstyle")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _fraction(text: str) -> Fraction:
    """Seconds as 12.5, 1/3, or [hh:]mm:ss(.s)."""
    try:
        parts = text.split(":")
        if len(parts) > 3:
            raise ValueError
        value = Fraction(0)
        for part in parts:
            value = value * 60 + Fraction(part)
        return value
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"not a time: {text!r} (use seconds like 12.5, or mm:ss)") from None


def _offsets(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of frame offsets: {text!r} (e.g. 1,2,4)") from None


def _choices(literal: object) -> tuple[str, ...]:
    return tuple(str(choice) for choice in get_args(literal))


def build_parser() -> argparse.ArgumentParser:
    presets = "; ".join(
        f"{name}: {p.video_size} px video / {p.image_size} px image, {p.iterations}+{p.later_iterations} iterations"
        for name, p in PRESETS.items()
    )
    parser = _Parser(
        prog=PROG,
        description="Paint a video (or an image) in the style of an artwork, steady from frame to frame.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"""\
examples:
  {PROG} clip.mp4 --style monet.jpg                  writes clip.monet.mp4
  {PROG} clip.mp4 --style monet.jpg --preview        a few seconds, small and quick, with an estimate
  {PROG} photo.jpg --style a.jpg b.jpg --style-weights 0.7 0.3 -o out.png
  {PROG} probe clip.mp4                              what a video file holds

quality presets: {presets}.
An interrupted video render resumes when the same command is run again.""",
    )
    parser.add_argument("input", type=Path, help="video or image to stylize")
    parser.add_argument(
        "-s", "--style", type=Path, nargs="+", required=True, metavar="IMAGE", help="painting(s) to imitate"
    )
    parser.add_argument("-o", "--output", type=Path, help="output file (default: INPUT.STYLE.ext beside the input)")
    parser.add_argument("-y", "--overwrite", action="store_true", help="replace the output if it exists")
    parser.add_argument("-V", "--version", action="version", version=f"{PROG} {__version__}")

    quality = parser.add_argument_group("size and quality")
    quality.add_argument(
        "-q", "--quality", choices=_choices(QualityName), help="preset for size and budget (default normal)"
    )
    quality.add_argument(
        "--size",
        type=int,
        metavar="PX",
        help="processing size, long side in pixels (default: the preset's, never above the source's)",
    )
    quality.add_argument(
        "--output-size",
        choices=_choices(OutputSizeName),
        help="processing (default) or source: enlarge the result to the input's size",
    )
    quality.add_argument(
        "--iterations", type=int, metavar="N", help="iteration budget of an image or a shot's first frame"
    )
    quality.add_argument(
        "--frame-iterations",
        type=int,
        metavar="N",
        help="iteration budget of a frame that starts from the previous one",
    )
    quality.add_argument(
        "--tolerance",
        type=float,
        metavar="REL",
        help="stop once the loss falls by less than this (relative) over 10 iterations; 0 never stops early",
    )
    quality.add_argument(
        "--scales", type=int, metavar="N", help="coarse-to-fine levels for first frames (1 turns it off)"
    )

    style = parser.add_argument_group("style")
    style.add_argument(
        "--style-weights", type=float, nargs="+", metavar="W", help="blend of several styles, e.g. 0.7 0.3"
    )
    style.add_argument("--style-weight", type=float, metavar="W", help="how strongly the style counts (default 10)")
    style.add_argument("--content-weight", type=float, metavar="W", help="how strongly the content counts (default 1)")
    style.add_argument("--tv-weight", type=float, metavar="W", help="smoothness (total variation) weight (default 5)")
    style.add_argument(
        "--style-scale",
        type=float,
        metavar="X",
        help="size of the style's brush strokes relative to the content (default 1)",
    )
    style.add_argument(
        "--preserve-colors",
        action="store_true",
        default=None,
        help="keep the content's colours; transfer the style on luminance only",
    )
    style.add_argument(
        "--init", metavar="MODE", help="start of the first frame: content (default), random, or an image file"
    )

    engine = parser.add_argument_group("engine")
    engine.add_argument("--optimizer", choices=_choices(OptimizerName), help="lbfgs (default) or adam")
    engine.add_argument(
        "--lr", dest="learning_rate", type=float, metavar="RATE", help="Adam's learning rate (default 0.02)"
    )
    engine.add_argument("--device", choices=_choices(DeviceName), help="auto (default): CUDA, then MPS, then CPU")
    engine.add_argument(
        "--precision", choices=_choices(PrecisionName), help="auto (default): bf16 where the hardware runs it fast"
    )
    engine.add_argument(
        "--weights",
        choices=WEIGHTS_NAMES,
        help="VGG19 weights: caffe (default, bundled) or torchvision (downloaded once)",
    )
    engine.add_argument("--seed", type=int, help="seed for random starts (default 0)")

    output = parser.add_argument_group("output")
    output.add_argument("--quiet", action="store_true", help="no progress bar, only errors and the output path")
    output.add_argument("-v", "--verbose", action="store_true", help="more detail in the log")
    output.add_argument("--debug", action="store_true", help="show a traceback on unexpected errors")
    return parser


def build_probe_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=f"{PROG} probe", description="Show what a video file holds.")
    parser.add_argument("file", type=Path, help="video file")
    return parser


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

    def update_to(self, done: int, total: int, **postfix: str) -> None:
        if self.quiet:
            return
        if self.bar is None:
            self.bar = tqdm(total=total, unit=self.unit, desc=self.desc, dynamic_ncols=True, file=sys.stderr)
        self.bar.total = total
        self.bar.n = done
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.refresh()

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
    job = build_job(args.style, **_job_options(args))
    with _progress("it", "stylizing", args.quiet) as bar:

        def on_step(done: int, planned: int, loss: float) -> None:
            bar.update_to(done, planned, loss=f"{loss:.4g}")

        report: ImageReport = run_image_job(args.input, job, args.output, overwrite=args.overwrite, on_step=on_step)
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


def _run_probe(argv: Sequence[str]) -> int:
    args = build_probe_parser().parse_args(argv)
    info = probe(args.file)
    rate = f"{float(info.frame_rate):.3f} fps ({info.frame_rate})" if info.frame_rate else "unknown"
    count = f"{info.frame_count}" + ("" if info.frame_count_exact else " (estimate)")
    duration = f"{float(info.duration):.3f} s" if info.duration is not None else "unknown"
    rows = [
        ("file", str(info.path)),
        ("container", info.container),
        ("video", f"{info.codec}, {info.pixel_format}, {info.color_range} range"),
        (
            "size",
            f"{info.width}x{info.height}" + (f" (rotated {info.rotation} deg for display)" if info.rotation else ""),
        ),
        ("frame rate", rate),
        ("frames", count),
        ("duration", duration),
        ("time base", str(info.time_base)),
    ]
    rows += [
        (f"audio #{a.index}", f"{a.codec}, {a.sample_rate} Hz, {a.channels} channel{'s' if a.channels != 1 else ''}")
        for a in info.audio
    ] or [("audio", "none")]
    rows += [(f"meta {key}", value) for key, value in info.metadata.items()]
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] == "probe":
        return _run_probe(argv[1:])
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose, args.quiet)
    if is_image_path(args.input):
        return _run_image(args)
    raise UsageError(f"{args.input}: video input is not supported yet")


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
    except MemoryError:
        print(f"{PROG}: error: out of memory; try a smaller --size", file=sys.stderr)
        return 1
    except Exception as error:
        if isinstance(error, RuntimeError) and "out of memory" in str(error).lower():
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
    sys.exit(main())


if __name__ == "__main__":
    main_exit()

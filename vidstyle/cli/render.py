"""``vidstyle INPUT --style ...``: a video or an image, a preview and its estimate."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from vidstyle.config import build_job
from vidstyle.errors import DeviceError
from vidstyle.settings import Job, cluster_settings, encode_settings

if TYPE_CHECKING:
    from vidstyle.pipeline import VideoReport
    from vidstyle.video_io import Segment

from vidstyle.cli.messages import full_render_command, interrupted_message, is_out_of_memory, out_of_memory_message
from vidstyle.cli.parser import PREVIEW_SECONDS, PROG
from vidstyle.cli.progress import RenderBars, progress_bar


def job_options(args: argparse.Namespace) -> dict[str, object]:
    from vidstyle.options import JOB_OPTIONS

    return {name: getattr(args, name) for name in JOB_OPTIONS if hasattr(args, name)}


def run_image(args: argparse.Namespace) -> int:
    from vidstyle.image_pipeline import run_image_job

    job = build_job(args.style, **job_options(args))
    with progress_bar("it", "stylizing", args.quiet) as bar:

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


def segment_of(args: argparse.Namespace) -> Segment:
    from vidstyle.video_io import Segment

    duration = args.duration
    if args.preview and duration is None and args.frames is None:
        duration = PREVIEW_SECONDS
    return Segment(start=args.start or Fraction(0), duration=duration, frames=args.frames)


def run_video(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from vidstyle.pipeline import run_video_job
    from vidstyle.render_setup import video_output_path
    from vidstyle.workdir import work_dir_for

    options = job_options(args)
    if args.no_cut_detection:
        options["cut_threshold"] = 0.0
    job = build_job(args.style, **options)
    run_job = _preview_job(args.style, options, job) if args.preview else job
    with RenderBars(args.quiet) as bars:
        try:
            report = run_video_job(
                args.input,
                run_job,
                args.output,
                segment=segment_of(args),
                encode=encode_settings(args.crf, args.x264_preset, args.keep_location),
                overwrite=args.overwrite,
                keep_frames=args.keep_frames,
                restart=args.restart,
                preview=args.preview,
                on_frame=bars.on_frame,
                on_step=bars.on_step,
                on_plan=bars.on_plan,
                on_detail=bars.on_detail,
                cluster=cluster_settings(args.ray, args.ray_cpus_per_task),
            )
        except KeyboardInterrupt:
            bars.close()
            output = video_output_path(args.input, run_job, args.output, preview=args.preview)
            print(f"{PROG}: {interrupted_message(work_dir_for(output), argv)}", file=sys.stderr)
            return 130
        except Exception as error:
            if not is_out_of_memory(error):
                raise
            bars.close()
            output = video_output_path(args.input, run_job, args.output, preview=args.preview)
            raise DeviceError(out_of_memory_message(work_dir_for(output), argv)) from error
    if args.quiet:
        print(report.output)
        return 0
    _print_video_summary(report)
    if args.preview:
        _print_estimate(args, argv, job, run_job, report)
    return 0


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
    from vidstyle.video_info import probe
    from vidstyle.video_io import Segment, expected_frame_count

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

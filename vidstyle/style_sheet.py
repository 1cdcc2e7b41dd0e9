"""Trying styles on one frame: the frame painted in each style, side by side with the source and
labelled, on one sheet (``vidstyle try``). People choose a style by looking; a sheet shows the
choice in seconds, at a preview's size and budget, where a preview render per style takes
minutes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from vidstyle import imageops
from vidstyle.backend import choose_backend
from vidstyle.config import build_job
from vidstyle.errors import NoFramesError
from vidstyle.filetypes import is_image_path
from vidstyle.outputs import check_output_path, write_bytes_atomically
from vidstyle.settings import Job
from vidstyle.stylizer import Stylizer, check_images
from vidstyle.video_info import probe
from vidstyle.video_io import Segment, read_frames

LABEL_HEIGHT = 24
GAP = 8


@dataclass(frozen=True)
class Sheet:
    path: Path
    time: Fraction  # of the frame painted, in seconds from the clip's start (0 for an image)
    size: tuple[int, int]  # each panel's


def sheet_path(source: Path, output: Path | None) -> Path:
    """The given path, or ``clip.try.jpg`` beside the clip."""
    return output if output is not None else source.with_name(f"{source.stem}.try.jpg")


def try_styles(
    source: Path,
    styles: Sequence[Path],
    output: Path | None = None,
    *,
    at: Fraction | None = None,
    overwrite: bool = False,
    on_style: Callable[[int, int], None] | None = None,
    **options: object,
) -> Sheet:
    """Paint one frame of ``source`` (at ``at`` seconds; the middle one by default) in each of
    ``styles`` with ``options`` (the render's keywords; ``quality`` preview unless given) and
    write them beside the frame, labelled, to one JPEG sheet."""
    path = sheet_path(source, output)
    check_output_path(path, inputs=(source, *styles), overwrite=overwrite)
    jobs = try_jobs(styles, options)
    time, frame = frame_at(source, at)
    content = content_for(frame, jobs[0])
    panels = [(content, "the frame" if is_image_path(source) else f"the frame at {float(time):.2f} s")]
    if on_style is not None:
        on_style(0, len(styles))
    for number, (style, job) in enumerate(zip(styles, jobs, strict=True)):
        panels.append((painted_frame(content, job), style.stem))
        if on_style is not None:
            on_style(number + 1, len(styles))
    write_bytes_atomically(path, imageops.encode_image(_sheet(panels), path.suffix))
    height, width = content.shape[:2]
    return Sheet(path=path, time=time, size=(width, height))


def try_jobs(styles: Sequence[Path], options: dict[str, object]) -> list[Job]:
    """A job for each style, from a render's keywords (``quality`` preview unless given), every
    option and image checked before any work."""
    options = {"quality": "preview", **options}
    jobs = [build_job([style], **options) for style in styles]
    for job in jobs:
        check_images(job.style, job.init)
    return jobs


def content_for(frame: np.ndarray, job: Job) -> np.ndarray:
    """The frame at the size ``job`` paints a still (the preview's 256 px by default)."""
    width, height = job.processing_size(frame.shape[1], frame.shape[0], still=True)
    return imageops.resize_frame(frame, width, height)


def painted_frame(content: np.ndarray, job: Job) -> np.ndarray:
    """``content`` painted in ``job``'s style, at its size, as ``vidstyle INPUT.jpg`` paints it."""
    height, width = content.shape[:2]
    backend = choose_backend(job.engine, frame_size=(width, height), units=1)
    stylizer = Stylizer(job.style, job.losses, job.optimizer, job.engine, content_size=(width, height), backend=backend)
    with backend.running():
        init = stylizer.first_frame_init(content, job.init, seed=job.engine.seed)
        return stylizer.stylize(content, init, iterations=job.optimizer.iterations, coarse_to_fine=True).frame


def frame_at(source: Path, at: Fraction | None) -> tuple[Fraction, np.ndarray]:
    """The frame of ``source`` shown at ``at`` seconds (the middle one for None) and its time."""
    if is_image_path(source):
        return Fraction(0), imageops.read_image(source)
    if at is None:
        info = probe(source)
        at = info.duration / 2 if info.duration else Fraction(0)
    for decoded in read_frames(source, Segment(start=at, frames=1)):
        return decoded.time, decoded.frame
    raise NoFramesError(f"{source}: no frame at {float(at):.2f} s")


def _sheet(panels: list[tuple[np.ndarray, str]]) -> np.ndarray:
    """The panels side by side on white, each with its label under it."""
    height, width = panels[0][0].shape[:2]
    sheet = np.full((height + LABEL_HEIGHT, len(panels) * (width + GAP) - GAP, 3), 255, np.uint8)
    for index, (picture, label) in enumerate(panels):
        left = index * (width + GAP)
        sheet[:height, left : left + width] = picture
        scale = 0.5
        text_width = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0]
        scale *= min(1.0, (width - 4) / max(1, text_width))  # a label never runs into the next panel
        cv2.putText(
            sheet, label, (left + 2, height + 17), cv2.FONT_HERSHEY_SIMPLEX, scale, (30, 30, 30), 1, cv2.LINE_AA
        )
    return sheet

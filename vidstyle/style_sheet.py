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
    options = {"quality": "preview", **options}
    jobs = [build_job([style], **options) for style in styles]  # every option checked before any work
    for job in jobs:
        check_images(job.style, job.init)
    time, frame = frame_at(source, at)
    width, height = jobs[0].processing_size(frame.shape[1], frame.shape[0], still=True)
    content = imageops.resize_frame(frame, width, height)
    panels = [(content, "the frame" if is_image_path(source) else f"the frame at {float(time):.2f} s")]
    if on_style is not None:
        on_style(0, len(styles))
    for number, (style, job) in enumerate(zip(styles, jobs, strict=True)):
        backend = choose_backend(job.engine, frame_size=(width, height), units=1)
        stylizer = Stylizer(
            job.style, job.losses, job.optimizer, job.engine, content_size=(width, height), backend=backend
        )
        with backend.running():
            init = stylizer.first_frame_init(content, job.init, seed=job.engine.seed)
            painted = stylizer.stylize(content, init, iterations=job.optimizer.iterations, coarse_to_fine=True)
        panels.append((painted.frame, style.stem))
        if on_style is not None:
            on_style(number + 1, len(styles))
    write_bytes_atomically(path, imageops.encode_image(_sheet(panels), path.suffix))
    return Sheet(path=path, time=time, size=(width, height))


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

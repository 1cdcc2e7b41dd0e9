"""Stylizing a still image: read, stylize at the processing size, write atomically."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidstyle import imageops
from vidstyle.backend import choose_backend
from vidstyle.config import build_job
from vidstyle.detail import DetailPainter
from vidstyle.device import check_frame_fits, detail_size_that_fits, warn_of_slow_settings
from vidstyle.errors import OutputPathError
from vidstyle.filetypes import WRITABLE_IMAGE_EXTENSIONS, local_path
from vidstyle.objective import LossParts
from vidstyle.optimize import StepCallback
from vidstyle.options import refuse_video_options
from vidstyle.outputs import check_output_path, default_output_path, write_bytes_atomically
from vidstyle.settings import Job
from vidstyle.stylizer import Stylizer, check_images

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageReport:
    """What a still-image run did."""

    output: Path
    width: int
    height: int
    iterations: int
    losses: LossParts
    seconds: float


def image_output_path(source: Path, job: Job, output: Path | None) -> Path:
    """The output to write: the given one, or ``photo.starry_night.jpg`` beside the input."""
    if output is None:
        extension = source.suffix.lower() if source.suffix.lower() in WRITABLE_IMAGE_EXTENSIONS else ".png"
        return default_output_path(source, job.style.paths, extension)
    if output.suffix.lower() not in WRITABLE_IMAGE_EXTENSIONS:
        kinds = ", ".join(WRITABLE_IMAGE_EXTENSIONS)
        raise OutputPathError(f"{output}: an image input needs an image output ({kinds})")
    return output


def run_image_job(
    source: Path,
    job: Job,
    output: Path | None = None,
    *,
    overwrite: bool = False,
    on_step: StepCallback | None = None,
) -> ImageReport:
    """Stylize the image at ``source`` as ``job`` says and write it; returns what was done."""
    started = time.perf_counter()
    imageops.read_image(source, max_long_side=16)  # fail fast on a bad input, before any work
    output = image_output_path(source, job, output)
    check_output_path(output, inputs=(source, *job.style.paths), overwrite=overwrite)
    check_images(job.style, job.init)
    # Read no bigger than needed: a 12000 px photo is decoded at a fraction of its size.
    wanted = job.size if isinstance(job.size, int) else max(job.processing_size(100_000, 100_000, still=True))
    whole = job.size == "source" or job.output_size == "source"
    source_frame = imageops.read_image(source, max_long_side=None if whole else wanted)
    width, height = job.processing_size(source_frame.shape[1], source_frame.shape[0], still=True)
    backend = choose_backend(job.engine, frame_size=(width, height), units=1)
    check_frame_fits(backend.device, job.engine.precision, width, height)  # before anything that size is made
    warn_of_slow_settings(backend.device, job.engine)
    frame = imageops.resize_frame(source_frame, width, height)
    stylizer = Stylizer(
        job.style,
        job.losses,
        job.optimizer,
        job.engine,
        content_size=(width, height),
        reference_frame=frame,
        backend=backend,
    )
    init = stylizer.first_frame_init(frame, job.init, seed=job.engine.seed)
    if counted := stylizer.budget_text(job.optimizer.iterations):
        log.info("painted coarse to fine; the bar counts %s", counted)
    written = job.written_size(*source_frame.shape[1::-1], still=True)
    with backend.running():
        stylized = stylizer.stylize(
            frame, init, iterations=job.optimizer.iterations, coarse_to_fine=True, on_step=on_step
        )
        painted = stylized.frame
        if job.detailed(*source_frame.shape[1::-1], still=True):
            size = detail_size_that_fits(backend.device, job.engine.precision, written)
            log.info("a detail pass refines the painting at %dx%d", *size)
            detail = DetailPainter(
                job.style, backend, size, (width, height), temporal_weight=0.0, reference_frame=frame
            )
            painted = detail.refine(painted).frame
    result_frame = imageops.enlarge_frame(painted, *written)
    result_frame = _keep_transparency(source, output, result_frame)
    write_bytes_atomically(output, imageops.encode_image(result_frame, output.suffix))
    return ImageReport(
        output=output,
        width=result_frame.shape[1],
        height=result_frame.shape[0],
        iterations=stylized.iterations,
        losses=stylized.result.losses,
        seconds=time.perf_counter() - started,
    )


def _keep_transparency(source: Path, output: Path, frame: np.ndarray) -> np.ndarray:
    """The source's alpha on the stylized frame, where the output format can hold it: a logo
    or a cut-out stays cut out. The network itself sees colour only."""
    alpha = imageops.read_alpha(source, frame.shape[1], frame.shape[0])
    if alpha is None:
        return frame
    if output.suffix.lower() not in imageops.ALPHA_WRITE_EXTENSIONS:
        log.warning("%s: its transparency is not kept in %s; write .png or .webp to keep it", source.name, output.name)
        return frame
    return imageops.with_alpha(frame, alpha)


def stylize_image(
    input: str | os.PathLike[str],
    styles: str | os.PathLike[str] | list[str | os.PathLike[str]],
    output: str | os.PathLike[str] | None = None,
    *,
    overwrite: bool = False,
    on_step: StepCallback | None = None,
    **options: object,
) -> ImageReport:
    """Stylize one image. ``options`` are the CLI's options in snake case (``size=512``,
    ``style_weight=20``, ``preserve_colors=True`` ...)."""
    refuse_video_options(options)
    style_list = [styles] if isinstance(styles, (str, os.PathLike)) else list(styles)
    job = build_job([local_path(s) for s in style_list], **options)
    return run_image_job(
        local_path(input), job, local_path(output) if output is not None else None, overwrite=overwrite, on_step=on_step
    )

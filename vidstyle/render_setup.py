"""A video render made ready before its first frame: the source probed, the output and the
inputs checked, the backend, chunking and sizes chosen, the stylizer and the detail painter
built, and the work folder opened. Everything that can fail fails here."""

from __future__ import annotations

import logging
import platform
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import torch

from vidstyle import imageops
from vidstyle.backend import Backend, choose_backend
from vidstyle.detail import DetailPainter
from vidstyle.device import check_frame_fits, detail_size_that_fits, warn_of_slow_settings
from vidstyle.distributed import connect
from vidstyle.errors import NoFramesError, UsageError
from vidstyle.flow import FlowEstimator
from vidstyle.manifest import FRAME_FORMAT, content_fingerprint
from vidstyle.options import DEFAULT_CHUNK_FRAMES, option_flag
from vidstyle.outputs import check_output_path, default_output_path, remove_stale_partials
from vidstyle.settings import INIT_MODES, ClusterSettings, EncodeSettings, Job
from vidstyle.stylizer import Stylizer, check_images
from vidstyle.version import __version__
from vidstyle.video_info import VideoInfo, probe
from vidstyle.video_io import Segment, read_frames
from vidstyle.video_writer import VIDEO_EXTENSIONS, container_plan
from vidstyle.workdir import WorkDir, saved_setting, work_dir_for

log = logging.getLogger(__name__)


def video_output_path(source: Path, job: Job, output: Path | None, *, preview: bool = False) -> Path:
    """The given output, or ``clip.starry_night.mp4`` beside the input (``.preview`` for previews)."""
    if output is not None:
        container_plan(output)  # an unsupported extension fails here, before any work
        return output
    extension = source.suffix.lower() if source.suffix.lower() in VIDEO_EXTENSIONS else ".mp4"
    path = default_output_path(source, job.style.paths, extension)
    return path.with_name(f"{path.stem}.preview{path.suffix}") if preview else path


def _manifest(info: VideoInfo, job: Job, segment: Segment, size: tuple[int, int], stylizer: Stylizer) -> dict[str, Any]:
    """Everything that shapes the stylized frames (not the encoding, not the output path, nor
    where the files are: a render resumes after its source, styles or work folder move)."""
    job_fields = asdict(job)
    job_fields["style"]["paths"] = [content_fingerprint(path, whole=True) for path in job.style.paths]
    if job.init not in INIT_MODES:  # an image file
        job_fields["init"] = content_fingerprint(Path(job.init), whole=True)
    # Threads change the last bits of a sum's rounding, not the look: a render may resume with
    # another count (on another machine, say). Units at once change nothing in a frame.
    del job_fields["engine"]["threads"]
    del job_fields["engine"]["units"]
    # What these choose is recorded as it was resolved (the painted and delivered sizes, the
    # device and the precision): --size given as its default, --quality's size, --output-size
    # without a detail pass, or --device cuda against auto on a GPU paint the same frames.
    for name in ("size", "quality", "output_size"):
        del job_fields[name]
    # The detail pass shapes the delivered frames only, which the work folder keeps apart (at
    # the size it records): --detail off after a stop encodes the painted frames, and a resume
    # with less free memory refines them again, the painting kept.
    del job_fields["detail"]
    del job_fields["engine"]["device"]
    del job_fields["engine"]["precision"]
    return {
        "frame_format": FRAME_FORMAT,
        "source": content_fingerprint(info.path),
        "segment": {key: str(value) if value is not None else None for key, value in asdict(segment).items()},
        "size": list(size),
        "job": job_fields,
        "device": stylizer.device.type,
        "precision": str(stylizer.compute_dtype),
        # Only where it is not the plain reading, so that older work folders still resume.
        **({"reading": "top fields"} if info.interlaced else {}),
    }


def _setup(threads: int) -> dict[str, Any]:
    """What makes a render repeat itself bit for bit, beyond its settings: the machine, the
    network's threads (they set the order of a sum's terms) and the libraries' versions."""
    return {
        "machine": f"{platform.node()} ({platform.machine()})",
        "threads": threads,
        "vidstyle": __version__,
        "torch": torch.__version__,
        "opencv": cv2.__version__,
        "av": av.__version__,
        "numpy": np.__version__,
    }


@dataclass(frozen=True)
class PreparedRender:
    """A video render made ready to go: its source, settings (chunking chosen), output, the
    painted and written sizes, the stylizer and the work folder."""

    info: VideoInfo
    job: Job
    output: Path
    size: tuple[int, int]
    written: tuple[int, int]
    stylizer: Stylizer
    work: WorkDir
    threads: int
    cluster: ClusterSettings | None
    detail: DetailPainter | None  # refines each painted frame at the written size (or as much of it as fits)


def prepare_render(
    source: Path,
    job: Job,
    output: Path | None,
    segment: Segment,
    encode: EncodeSettings,
    *,
    overwrite: bool,
    preview: bool,
    restart: bool,
    cluster: ClusterSettings | None,
) -> PreparedRender:
    """Probe the source, check the output and the inputs, choose the backend and chunking,
    build the stylizer and open the work folder: everything that can fail fails here."""
    info = probe(source)
    _warn_of_source(info)
    # A preview may replace its own earlier preview (the default .preview file), nothing else.
    overwrite = overwrite or (preview and output is None)
    output = video_output_path(source, job, output, preview=preview)
    check_output_path(output, inputs=(source, *job.style.paths), overwrite=overwrite)
    _refuse_what_does_nothing(job, output, encode, cluster)
    FlowEstimator(job.temporal.flow, job.temporal.dis_preset)  # a flow that cannot run here fails now, in one line
    check_images(job.style, job.init)
    if cluster is not None:
        connect(cluster.address)  # fail fast: Ray missing, or no cluster there
    size = job.processing_size(info.width, info.height, still=False)
    # On a cluster, a unit a task; here, --units or the machine's choice.
    backend = choose_backend(job.engine, frame_size=size, units=1 if cluster is not None else None)
    job = choose_chunking(job, cluster, backend, work_dir_for(output), restart=restart)
    # Before anything that size is made; the units painted at once are counted once planned.
    check_frame_fits(backend.device, job.engine.precision, *size)
    warn_of_slow_settings(backend.device, job.engine)
    reference = _first_content(info, segment, size) if job.style.preserve_colors else None
    stylizer = Stylizer(
        job.style, job.losses, job.optimizer, job.engine, content_size=size, reference_frame=reference, backend=backend
    )
    threads = cluster.task_threads(backend.threads) if cluster is not None else backend.threads
    written = job.written_size(info.width, info.height, still=False)
    manifest = _manifest(info, job, segment, size, stylizer)
    work = WorkDir.open(work_dir_for(output), manifest, setup=_setup(threads), restart=restart)
    detail = None
    if job.detailed(info.width, info.height, still=False):
        detail_size = _delivered_size(work, detail_size_that_fits(backend.device, job.engine.precision, written))
        if work.record_delivered_size(detail_size):
            log.info("the frames delivered so far are refined again, at %dx%d (they do not fit now)", *detail_size)
        detail = DetailPainter(
            job.style, backend, detail_size, size, temporal_weight=job.losses.temporal, reference_frame=reference
        )
    # Only now, the work folder locked: a second run of the same command, refused by the lock,
    # must not delete the partial output that the first is encoding.
    remove_stale_partials(output.parent, of=output)
    return PreparedRender(info, job, output, size, written, stylizer, work, threads, cluster, detail)


def _delivered_size(work: WorkDir, fits: tuple[int, int]) -> tuple[int, int]:
    """The size to refine at: the one the work folder's delivered frames were refined at where
    it still fits (a resume with more or less free memory goes on with them), else ``fits``."""
    kept = work.delivered_size()
    return kept if kept is not None and kept[0] <= fits[0] and kept[1] <= fits[1] else fits


def check_units_fit(render: PreparedRender, units: int) -> None:
    """Memory for the units that will paint at once here: no more than there are to render."""
    backend = render.stylizer.backend
    at_once = min(backend.units_at_once, units) if render.cluster is None else 1
    if at_once > 1:
        check_frame_fits(backend.device, render.job.engine.precision, *render.size, units=at_once)


def _refuse_what_does_nothing(job: Job, output: Path, encode: EncodeSettings, cluster: ClusterSettings | None) -> None:
    """Raise UsageError for an option that this render would ignore."""
    codec = container_plan(output).video_codec
    if encode.preset is not None and codec != "libx264":
        flag = option_flag("x264_preset")
        raise UsageError(f"{flag} applies to H.264 outputs; {output.name} is encoded with {codec}")
    if cluster is not None and job.engine.units is not None:
        raise UsageError(
            f"{option_flag('units')} sets the units painted at once here; on Ray each task paints one "
            f"({option_flag('ray_cpus_per_task')} sets its threads)"
        )


def _warn_of_source(info: VideoInfo) -> None:
    """One line for each thing about the source that the output cannot keep as it is."""
    name = info.path.name
    if info.hdr:
        log.warning(
            "%s is HDR or wide-gamut (%s); vidstyle reads every video as SDR BT.709, so its colours will look "
            "washed out. Tone-map it to BT.709 first, e.g. ffmpeg -i IN -vf "
            "zscale=t=linear:npl=100,tonemap=hable,zscale=p=bt709:t=bt709:m=bt709,format=yuv420p OUT",
            name,
            info.hdr,
        )
    if info.interlaced:
        log.info("%s is interlaced: each frame is read as its top field, the lines between interpolated", name)
    if info.has_alpha:
        # Images keep theirs (image_pipeline); an H.264 or VP9 output has no alpha to keep it in.
        log.warning("%s has transparency (%s); the stylized video is opaque", name, info.pixel_format)


def choose_chunking(
    job: Job, cluster: ClusterSettings | None, backend: Backend, work_path: Path, *, restart: bool
) -> Job:
    """``--chunk-frames`` not given: a render being resumed keeps its own; else
    ``DEFAULT_CHUNK_FRAMES`` on a cluster or a GPU, where units render side by side (one long
    shot would leave the others idle), and whole shots on a CPU, where they render one at a
    time (chunks only cost there: a fresh start and a seam each). Chosen by the machine, never
    by ``--units``, so that the units at once do not change the frames."""
    if job.temporal.chunk_frames is not None:
        return job
    saved = None if restart else saved_setting(work_path, ("job", "temporal", "chunk_frames"))
    # By the machine, not by --units: the same GPU paints the same frames one unit at a time.
    side_by_side = cluster is not None or backend.device.type == "cuda"
    chunk_frames = saved if isinstance(saved, int) else DEFAULT_CHUNK_FRAMES if side_by_side else 0
    return replace(job, temporal=replace(job.temporal, chunk_frames=chunk_frames))


def _first_content(info: VideoInfo, segment: Segment, size: tuple[int, int]) -> np.ndarray:
    for decoded in read_frames(info.path, segment):
        return imageops.resize_frame(decoded.frame, *size)
    raise NoFramesError(f"{info.path}: no frames to stylize")

"""How steady and how stylized a result is: warping error, style and content losses, cuts.

The warping error (Ruder et al.) compares each output frame with the previous output warped
along the flow of the *source* frames, where that flow is reliable. Style and content losses
are the unweighted terms of the objective, so a blurry or unstyled video, which is steady
too, shows up as a poor style loss.

Each figure comes with the source's own, for a scale: the source's warping error (what its
own motion, grain and flicker give; a painting cannot be steadier than the flow lets it be
measured), and the style loss of the unpainted source frames (what no styling scores).

The losses are measured with the picture mirrored ``MEASURE_MARGIN`` px around its edges
before the network, for the style targets and the results alike. With VGG19's zero padding,
as the objective has it, a dark line painted along the edges lowered the measured style loss:
the measure rewarded the very defect it should show. The border line score (``borders.py``)
shows such a line directly; it is given for the source too, which may carry one of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vidstyle import imageops
from vidstyle.borders import MIN_PROFILE_SIDE, border_line_score
from vidstyle.errors import UsageError
from vidstyle.flow import FlowEstimator
from vidstyle.flow.motion import enlarged_motion, measure_motion
from vidstyle.objective import measure_losses
from vidstyle.settings import EngineSettings, LossWeights, OptimizerSettings, StyleSettings, TemporalSettings
from vidstyle.shots import histogram_distance, is_scene_cut
from vidstyle.sizes import fit_long_side
from vidstyle.stylizer import Stylizer
from vidstyle.video_io import Segment, read_frames
from vidstyle.warps import warp

# Mirrored pixels around each picture for the measuring network (16 px removes the edge's pull,
# EngineSettings).
MEASURE_MARGIN = 16
# The flows that judge the warping error are measured on the sources shrunk to at most this
# long side, and enlarged (flow.enlarged_motion): DIS at 1080p took most of an 18-minute
# measure of a 41-frame clip. The error itself is taken at the delivered size.
MEASURE_FLOW_LONG_SIDE = 480
# The style and content losses are taken on about this many frames spread over the clip: the
# network at the delivered size is the slow part, and the style varies little from frame to frame.
STYLE_SAMPLE_FRAMES = 8
# Pictures whose shapes (width / height) differ by more than this are not the same video.
ASPECT_TOLERANCE = 0.02


@dataclass(frozen=True)
class VideoMetrics:
    """Averages over a clip; ``warping_errors`` per frame pair within a shot (frame index, error).
    The ``source_`` figures are the source's own, measured the same way: a scale to read the
    others by."""

    frames: int
    width: int
    height: int
    warping_error: float | None
    style_loss: float | None
    content_loss: float | None
    border_line: float | None
    source_border_line: float | None
    cuts: tuple[int, ...]
    source_warping_error: float | None = None
    source_style_loss: float | None = None
    warping_errors: tuple[tuple[int, float], ...] = field(default=(), repr=False)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure(
    sources: Iterable[np.ndarray],
    outputs: Iterable[np.ndarray],
    *,
    styles: tuple[Path, ...] = (),
    style_scale: float = 1.0,
    temporal: TemporalSettings | None = None,
    engine: EngineSettings | None = None,
    losses_every: int = 1,
    on_frame: Callable[[int], None] | None = None,
) -> VideoMetrics:
    """Metrics of ``outputs`` (stylized frames) against ``sources`` (the originals), in order.

    Sources are resized to the outputs' size; the warping error is taken at that size, along
    the flow between the sources shrunk to ``MEASURE_FLOW_LONG_SIDE`` at most, enlarged. With
    ``styles``, style and content losses are measured on every ``losses_every``-th frame (the
    network is the slow part).
    ``on_frame(n)`` after each frame measured.
    """
    temporal = temporal or TemporalSettings()
    found = _Found(FlowEstimator(temporal.flow, temporal.dis_preset), temporal.cut_threshold)
    stylizer: Stylizer | None = None
    previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # the source shrunk, as is, the output
    count, size = 0, (0, 0)
    for index, (source, output) in enumerate(_pairs(sources, outputs)):
        height, width = output.shape[:2]
        size = (width, height)
        if index == 0:
            check_same_picture(source.shape[1], source.shape[0], width, height)
        source = imageops.resize_frame(source, width, height)
        small_source = imageops.resize_frame(
            source, *fit_long_side(width, height, min(max(size), MEASURE_FLOW_LONG_SIDE))
        )
        if previous is not None:
            found.steadiness(index, (small_source, source, output), previous)
        if index % losses_every == 0 and min(height, width) >= MIN_PROFILE_SIDE:
            found.border_lines.append((border_line_score(output), border_line_score(source)))
        if styles and index % losses_every == 0:
            if stylizer is None:
                stylizer = _loss_model(styles, style_scale, engine or EngineSettings(), (width, height), source)
            found.losses(stylizer, source, output)
        previous = (small_source, source, output)
        count += 1
        if on_frame is not None:
            on_frame(count)
    if count == 0:
        raise UsageError("no frames to measure")
    return found.metrics(count, size)


def _mean(values: Iterable[float]) -> float | None:
    listed = list(values)
    return float(np.mean(listed)) if listed else None


class _Found:
    """What ``measure`` has found so far, frame pair by frame pair."""

    def __init__(self, flow: FlowEstimator, cut_threshold: float) -> None:
        self.flow, self.cut_threshold = flow, cut_threshold
        self.errors: list[tuple[int, float]] = []
        self.source_errors: list[float] = []
        self.cuts: list[int] = []
        self.style_losses: list[float] = []
        self.source_style_losses: list[float] = []
        self.content_losses: list[float] = []
        self.border_lines: list[tuple[float, float]] = []  # (output, source)

    def steadiness(
        self,
        index: int,
        now: tuple[np.ndarray, np.ndarray, np.ndarray],
        before: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> None:
        """The warping errors of frame ``index`` against the one before (each: the source
        shrunk for the flow, the source, the output), or a cut between them."""
        (small_source, source, output), (previous_small, previous_source, previous_output) = now, before
        motion = measure_motion(self.flow, small_source, {0: previous_small}).towards[0]
        verdict = motion.reliability
        if is_scene_cut(verdict.coverage, histogram_distance(previous_small, small_source), self.cut_threshold):
            self.cuts.append(index)
            return
        backward, mask = enlarged_motion(motion.backward, verdict.mask, (output.shape[1], output.shape[0]))
        self.errors.append((index, warping_error(output, previous_output, backward, mask)))
        self.source_errors.append(warping_error(source, previous_source, backward, mask))

    def losses(self, stylizer: Stylizer, source: np.ndarray, output: np.ndarray) -> None:
        source_image = stylizer.to_optimization_space(source)
        parts = measure_losses(stylizer.objective, stylizer.to_optimization_space(output), source_image)
        self.style_losses.append(parts.style)
        self.content_losses.append(parts.content)
        self.source_style_losses.append(measure_losses(stylizer.objective, source_image, source_image).style)

    def metrics(self, count: int, size: tuple[int, int]) -> VideoMetrics:
        return VideoMetrics(
            frames=count,
            width=size[0],
            height=size[1],
            warping_error=_mean(e for _, e in self.errors),
            style_loss=_mean(self.style_losses),
            content_loss=_mean(self.content_losses),
            border_line=_mean(b[0] for b in self.border_lines),
            source_border_line=_mean(b[1] for b in self.border_lines),
            cuts=tuple(self.cuts),
            warping_errors=tuple(self.errors),
            source_warping_error=_mean(self.source_errors),
            source_style_loss=_mean(self.source_style_losses),
        )


def check_same_picture(source_width: int, source_height: int, width: int, height: int) -> None:
    """Refuse to measure a stylized video against a source of another shape: a 144x176 clip
    against a 1920x1080 one is not its stylized version, and every figure would be nonsense."""
    if abs(source_width / source_height - width / height) > ASPECT_TOLERANCE * width / height:
        raise UsageError(
            f"the stylized video is {width}x{height} and the source {source_width}x{source_height}: not the same "
            "picture; measure a render against the source it was made from"
        )


def sampled_every(frames: int) -> int:
    """Every how many frames the losses are measured to take about ``STYLE_SAMPLE_FRAMES``."""
    return max(1, -(-frames // STYLE_SAMPLE_FRAMES))


def warping_error(output: np.ndarray, previous_output: np.ndarray, backward: np.ndarray, mask: np.ndarray) -> float:
    """Ruder et al.'s temporal consistency measure for one frame pair, in [0, 1] units.

    E = mean over pixels k (and channels) of c_k (o_i - warp(o_{i-1}))^2, with the flow
    estimated on the original frames. Bilinear warping, as Ruder et al. measure it (the
    synthesis warps with Lanczos, which this measure cannot flatter: its blurred reference
    only adds error).
    """
    warped = warp(previous_output, backward) / 255.0
    difference = output.astype(np.float32) / 255.0 - warped
    return float((mask[..., None] * difference**2).mean())


def pair_warping_error(
    flow: FlowEstimator, source: np.ndarray, earlier_source: np.ndarray, output: np.ndarray, earlier_output: np.ndarray
) -> float:
    """The warping error of ``output`` against ``earlier_output`` (any other frame: 5 frames
    back, or the last frame of a loop), with flow and reliability from the sources (at the
    outputs' size)."""
    height, width = output.shape[:2]
    source = imageops.resize_frame(source, width, height)
    earlier_source = imageops.resize_frame(earlier_source, width, height)
    motion = measure_motion(flow, source, {0: earlier_source}).towards[0]
    return warping_error(output, earlier_output, motion.backward, motion.reliability.mask)


def warping_error_at_gap(
    sources: list[np.ndarray], outputs: list[np.ndarray], gap: int, temporal: TemporalSettings | None = None
) -> float | None:
    """Mean warping error between frames ``gap`` apart (one shot assumed): what short-term
    consistency alone does not hold once small differences add up. None for too few frames."""
    temporal = temporal or TemporalSettings()
    flow = FlowEstimator(temporal.flow, temporal.dis_preset)
    errors = [
        pair_warping_error(flow, sources[i], sources[i - gap], outputs[i], outputs[i - gap])
        for i in range(gap, len(outputs))
    ]
    return float(np.mean(errors)) if errors else None


def _pairs(sources: Iterable[np.ndarray], outputs: Iterable[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    source_iter, output_iter = iter(sources), iter(outputs)
    index = 0
    while True:
        source = next(source_iter, None)
        output = next(output_iter, None)
        if source is None and output is None:
            return
        if source is None or output is None:
            longer = "stylized video" if source is None else "source"
            raise UsageError(
                f"the {longer} has more frames (the other ends after {index}); "
                "measure the same part of the source with --start/--duration/--frames"
            )
        yield source, output
        index += 1


def _loss_model(
    styles: tuple[Path, ...], style_scale: float, engine: EngineSettings, size: tuple[int, int], reference: np.ndarray
) -> Stylizer:
    """A Stylizer used only to evaluate losses: unit weights, so the parts are the raw terms."""
    unit = LossWeights(content=1.0, style=1.0, tv=0.0, temporal=0.0)
    with torch.no_grad():
        return Stylizer(
            StyleSettings(paths=styles, scale=style_scale),
            unit,
            OptimizerSettings(),
            replace(engine, edge_margin=MEASURE_MARGIN),  # a border cannot game it (above)
            content_size=size,
            reference_frame=reference,
        )


def measure_videos(
    source: Path,
    stylized: Path,
    *,
    segment: Segment | None = None,
    styles: tuple[Path, ...] = (),
    style_scale: float = 1.0,
    temporal: TemporalSettings | None = None,
    engine: EngineSettings | None = None,
    losses_every: int = 1,
    on_frame: Callable[[int], None] | None = None,
) -> VideoMetrics:
    """``measure`` on two video files (the source's ``segment`` against the whole stylized file)."""
    return measure(
        (f.frame for f in read_frames(source, segment)),
        (f.frame for f in read_frames(stylized)),
        styles=styles,
        style_scale=style_scale,
        temporal=temporal,
        engine=engine,
        losses_every=losses_every,
        on_frame=on_frame,
    )

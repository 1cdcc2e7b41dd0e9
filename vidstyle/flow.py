"""Optical flow, warping, Ruder et al.'s reliability mask and scene-cut detection.

numpy in and out: frames are uint8 (H, W, 3) RGB, flows float32 (H, W, 2) holding (dx, dy)
in pixels, masks float32 (H, W) in [0, 1].

Conventions: ``flow(a, b)`` maps each pixel x of frame a to where it is in frame b, so
a(x) ~ b(x + flow(x)). The *backward* flow of frame i is flow(i, i-1); warping the previous
output along it brings that output into frame i's geometry.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from vidstyle.config import DisPreset, FlowMethod
from vidstyle.errors import UsageError

log = logging.getLogger(__name__)

# opencv-python 5's type stubs leave out the video module (DIS, Farneback) and contrib's optflow.
_cv2_video: Any = cv2

_DIS_PRESETS: dict[str, int] = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
    "fine": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def _dis(preset: DisPreset) -> Any:
    dis = _cv2_video.DISOpticalFlow_create(_DIS_PRESETS[preset])
    if preset == "fine":
        # OpenCV's presets stop at 1/2 resolution with 8 px patches, which smears motion across
        # object edges: on a square moving over a painting, disocclusions were found with 60%
        # precision. Full resolution, 6 px patches every 2 px and more refinement reach 90%+
        # (tests/test_flow.py) for about 10x the time of "medium" (150 ms at 384x468, still a
        # few percent of a frame's optimization).
        dis.setFinestScale(0)
        dis.setPatchSize(6)
        dis.setPatchStride(2)
        dis.setVariationalRefinementIterations(15)
    return dis


def deepflow_available() -> bool:
    """DeepFlow lives in opencv-contrib's ``optflow`` module."""
    return hasattr(_cv2_video, "optflow") and hasattr(_cv2_video.optflow, "createOptFlow_DeepFlow")


def nvof_missing() -> str | None:
    """Why NVIDIA's optical-flow engine cannot be used here, or None when it can: it needs a
    CUDA card and the torch-nvidia-of-sdk package (no weights: the engine is in the card)."""
    import torch  # only here: flow.py is numpy and OpenCV otherwise

    if not torch.cuda.is_available():
        return "no CUDA card"
    try:
        import of  # type: ignore[import-not-found]  # noqa: F401  # torch-nvidia-of-sdk
    except ImportError:
        return "the torch-nvidia-of-sdk package is not installed (pip install torch-nvidia-of-sdk)"
    return None


class _NvidiaFlow:
    """Flow by the card's optical-flow engine (Turing and later), through torch-nvidia-of-sdk;
    one engine per frame size."""

    def __init__(self) -> None:
        self._engines: dict[tuple[int, ...], Any] = {}

    def __call__(self, frame_a: np.ndarray, frame_b: np.ndarray) -> np.ndarray:
        import of  # type: ignore[import-not-found]
        import torch

        a, b = (torch.from_numpy(np.ascontiguousarray(f)).cuda() for f in (frame_a, frame_b))
        engine = self._engines.get(frame_a.shape)
        if engine is None:
            engine = self._engines[frame_a.shape] = of.TorchNVOpticalFlow.from_tensor(a, preset="slow", grid_size=1)
        return np.asarray(engine.compute_flow(a, b, upsample=True).cpu().numpy(), dtype=np.float32)


class FlowEstimator:
    """Dense optical flow with OpenCV: DIS (default), Farneback, or DeepFlow (opencv-contrib);
    or by an NVIDIA card's optical-flow engine (nvof).

    One estimator per thread: OpenCV's algorithm objects keep state between calls.
    """

    def __init__(self, method: FlowMethod = "dis", dis_preset: DisPreset = "fine") -> None:
        self.method = method
        if method == "deepflow" and not deepflow_available():
            raise UsageError("--flow deepflow needs opencv-contrib-python (cv2.optflow); use dis or farneback")
        if method == "nvof" and (missing := nvof_missing()) is not None:
            raise UsageError(f"--flow nvof needs NVIDIA's optical-flow engine: {missing}; use dis")
        self._nvof = _NvidiaFlow() if method == "nvof" else None
        self._dis = _dis(dis_preset) if method == "dis" else None
        self._deepflow = _cv2_video.optflow.createOptFlow_DeepFlow() if method == "deepflow" else None

    def __call__(self, frame_a: np.ndarray, frame_b: np.ndarray) -> np.ndarray:
        """Flow from ``frame_a`` to ``frame_b`` (same size), float32 (H, W, 2)."""
        if self._nvof is not None:
            return self._nvof(frame_a, frame_b)
        grey_a = cv2.cvtColor(frame_a, cv2.COLOR_RGB2GRAY)
        grey_b = cv2.cvtColor(frame_b, cv2.COLOR_RGB2GRAY)
        if self._dis is not None:
            flow = _dis_with_smooth_flat_areas(self._dis.calc(grey_a, grey_b, None), grey_a, grey_b)
        elif self._deepflow is not None:
            flow = self._deepflow.calc(grey_a, grey_b, None)
        else:
            flow = _farneback(grey_a, grey_b)
        return np.asarray(flow, dtype=np.float32)


def _farneback(grey_a: np.ndarray, grey_b: np.ndarray) -> np.ndarray:
    # Pyramid deep enough for large motion at small sizes; window large enough for texture.
    return np.asarray(
        _cv2_video.calcOpticalFlowFarneback(
            grey_a, grey_b, None, pyr_scale=0.5, levels=5, winsize=15, iterations=5, poly_n=7, poly_sigma=1.5, flags=0
        ),
        dtype=np.float32,
    )


# Smallest eigenvalue of the local structure tensor (cv2.cornerMinEigenVal, 7 px blocks) below
# which a pixel has no texture to match. A white desk filmed on a phone: median 0.09; the
# paintings used in tests/test_flow.py: above 25 for 99% of pixels.
UNTEXTURED_EIGENVALUE = 1.0


def _dis_with_smooth_flat_areas(dis_flow: np.ndarray, grey_a: np.ndarray, grey_b: np.ndarray) -> np.ndarray:
    """DIS's flow where ``grey_a`` has texture, Farneback's where it has none.

    DIS matches small patches, and a patch of a flat wall matches anywhere: on pens.mp4 (pens on
    a white desk, the camera nearly still) it returned 5 to 17 px of motion across the desk, the
    forward-backward check then rejected 60% of the frame, and those pixels were stylized afresh
    each frame. Farneback's polynomial fit is smooth across flat areas but blurs motion edges
    (disocclusions found with 10% precision, against DIS's 92%), so each takes the pixels it is
    good at. The reliable area on pens.mp4 at 480 px rose from 40% to 80%.
    """
    texture = cv2.cornerMinEigenVal(grey_a.astype(np.float32), blockSize=7, ksize=3)
    flat = texture < UNTEXTURED_EIGENVALUE
    if not flat.any():
        return dis_flow
    flow = dis_flow.copy()
    flow[flat] = _farneback(grey_a, grey_b)[flat]
    return flow


def _sample_maps(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return grid_x + flow[..., 0], grid_y + flow[..., 1]


def warp(image: np.ndarray, flow: np.ndarray, *, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Sample ``image`` at x + flow(x): the image brought into the flow's source geometry.

    Bilinear unless another OpenCV ``interpolation`` is given; outside the image the nearest
    edge pixel is repeated (those pixels are marked unreliable by ``reliability_mask`` and
    filled by the caller). uint8 in, float32 out.
    """
    map_x, map_y = _sample_maps(flow)
    source = image.astype(np.float32, copy=False)
    return cv2.remap(source, map_x, map_y, interpolation=interpolation, borderMode=cv2.BORDER_REPLICATE)


@dataclass(frozen=True)
class Reliability:
    """Ruder et al.'s per-pixel verdicts for a backward flow; each a bool (H, W) array."""

    out_of_frame: np.ndarray
    disoccluded: np.ndarray
    motion_boundary: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        """c: 1 where the warped previous frame can be trusted, 0 elsewhere (float32)."""
        return (~(self.out_of_frame | self.disoccluded | self.motion_boundary)).astype(np.float32)

    @property
    def holes(self) -> np.ndarray:
        """Pixels a warp cannot fill at all: out of frame or newly visible (bool)."""
        return self.out_of_frame | self.disoccluded

    @property
    def coverage(self) -> float:
        """Fraction of reliable pixels."""
        return float(self.mask.mean())


def reliability(backward: np.ndarray, forward: np.ndarray) -> Reliability:
    """Check backward flow w (frame i -> i-1) against forward flow (i-1 -> i) (Ruder et al. 2016).

    With w^ the forward flow sampled at x + w:
    - disoccluded where |w + w^|^2 > 0.01 (|w|^2 + |w^|^2) + 0.5;
    - motion boundary where |grad u|^2 + |grad v|^2 > 0.01 |w|^2 + 0.002;
    - out of frame where x + w leaves the image.
    """
    height, width = backward.shape[:2]
    map_x, map_y = _sample_maps(backward)
    # Half a pixel of slack: sub-pixel noise at the border is not leaving the frame.
    out_of_frame = (map_x < -0.5) | (map_x > width - 0.5) | (map_y < -0.5) | (map_y > height - 0.5)
    forward_at = cv2.remap(forward, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    round_trip = backward + forward_at
    norm_b = (backward**2).sum(axis=2)
    norm_f = (forward_at**2).sum(axis=2)
    disoccluded = (round_trip**2).sum(axis=2) > 0.01 * (norm_b + norm_f) + 0.5
    du_dy, du_dx = np.gradient(backward[..., 0])
    dv_dy, dv_dx = np.gradient(backward[..., 1])
    gradient = du_dx**2 + du_dy**2 + dv_dx**2 + dv_dy**2
    motion_boundary = gradient > 0.01 * norm_b + 0.002
    return Reliability(out_of_frame=out_of_frame, disoccluded=disoccluded, motion_boundary=motion_boundary)


def warp_stylized(previous: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """``previous`` (a stylized output, uint8 (H, W, 3)) warped into this frame: float32
    (H, W, 3) in 0-255, its holes as the sampling leaves them (see ``warp_with_fill``).

    Lanczos, not bilinear: a stylized frame is all brush strokes, and bilinear sampling at a
    half-pixel offset blurs them. Once pinned by the temporal loss, that blur compounds frame
    after frame: five half-pixel warps of a stylized picture raised its style loss by 233%
    bilinear, 18% bicubic and 9% Lanczos.
    """
    return np.clip(warp(previous, backward, interpolation=cv2.INTER_LANCZOS4), 0.0, 255.0)


def warp_with_fill(previous: np.ndarray, backward: np.ndarray, content: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """``warp_stylized``, its ``holes`` filled from ``content`` in the colours the warped
    output has around them: a warm start. previous, content: uint8 (H, W, 3).

    Ruder et al. fill holes (disoccluded or out-of-frame pixels) with the content itself. Raw
    photo among painted pixels is far from any optimum: on pens.mp4 a later frame's 50
    iterations left it paler than its surroundings, a band the shape of a moving pen's former
    edge (a ghost of it), and 15 iterations more so. The content shifted by the local colour
    difference between the warped output and the content starts those pixels in the
    painting's palette with the content's shapes (``_in_colours_of``): the style loss fell
    10% at 50 iterations, and 15 became enough (docs/experiments.md, "Later frames").
    """
    warped = warp_stylized(previous, backward)
    if holes.any():
        warped[holes] = _in_colours_of(content, warped, ~holes)[holes]
    return warped


# The hole fill's reach: a Gaussian of this fraction of the frame's long side, at least this many pixels.
HOLE_FILL_SIGMA_FRACTION = 1 / 32
MIN_HOLE_FILL_SIGMA = 2.0


def _in_colours_of(content: np.ndarray, painted: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``content`` plus the local mean of (painted - content) over the ``known`` pixels: a
    Gaussian-weighted mean (normalized convolution, sigma 1/32 of the long side), so that
    a hole takes the colour shift of the painted pixels nearest to it. float32, 0-255."""
    content = content.astype(np.float32)
    if not known.any():
        return content
    height, width = known.shape
    sigma = max(MIN_HOLE_FILL_SIGMA, max(height, width) * HOLE_FILL_SIGMA_FRACTION)
    weight = known.astype(np.float32)
    shift = cv2.GaussianBlur((painted - content) * weight[..., None], (0, 0), sigma)
    # Where no known pixel is near, both blurs are near zero: divide by at least a little.
    norm = cv2.GaussianBlur(weight, (0, 0), sigma)
    return np.clip(content + shift / np.maximum(norm, 1e-3)[..., None], 0.0, 255.0)


def long_term_masks(masks: list[np.ndarray]) -> list[np.ndarray]:
    """Ruder et al.'s long-term masks, closest frame first: each minus the closer ones, clamped at 0.

    ``masks[k]`` is the reliability of the k-th offset (ascending offsets); a pixel then pulls
    towards the closest previous frame that saw it reliably.
    """
    combined: list[np.ndarray] = []
    closer = np.zeros_like(masks[0]) if masks else None
    for mask in masks:
        assert closer is not None
        combined.append(np.clip(mask - closer, 0.0, 1.0))
        closer = closer + mask
    return combined


def histogram_distance(frame_a: np.ndarray, frame_b: np.ndarray) -> float:
    """Bhattacharyya distance (0 same, 1 disjoint) of the frames' hue-saturation-value histograms."""
    hists = []
    for frame in (frame_a, frame_b):
        hsv = cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)
        hist = cv2.calcHist([hsv], [0, 1, 2], None, [16, 8, 8], [0, 180, 0, 256, 0, 256])
        hists.append(cv2.normalize(hist, hist).flatten())
    return float(cv2.compareHist(hists[0], hists[1], cv2.HISTCMP_BHATTACHARYYA))


# A colour histogram that moves this far between two frames belongs to another shot; within
# a shot, camera motion and lighting keep it below (pens.mp4: at most 0.16; the 1906 film's
# exposure flicker: 0.39).
HISTOGRAM_CUT_DISTANCE = 0.5


def is_scene_cut(coverage: float, histogram_jump: float, coverage_threshold: float) -> bool:
    """A cut when the reliable area collapses below ``coverage_threshold`` or the colours jump.

    ``coverage_threshold`` 0 turns detection off.
    """
    if coverage_threshold <= 0:
        return False
    return coverage < coverage_threshold or histogram_jump > HISTOGRAM_CUT_DISTANCE


@dataclass(frozen=True)
class Motion:
    """How a frame relates to an earlier one: the backward flow and Ruder et al.'s verdicts on it."""

    backward: np.ndarray
    reliability: Reliability


@dataclass(frozen=True)
class FrameMotion:
    """What planning a frame needs from the source frames alone (no stylized output).

    ``towards`` maps another frame's index to the motion from this frame towards it. Being
    independent of the outputs, it can be computed frames ahead, in worker threads.
    """

    towards: dict[int, Motion]


@dataclass(frozen=True)
class Link:
    """Two frames' flows both ways: ``there`` from the nearer frame to the farther (the
    backward flow of a link in a chain that leads away from the current frame), ``back``
    the other way, and ``there``'s reliability."""

    there: np.ndarray
    back: np.ndarray
    reliability: Reliability


def measure_link(estimator: FlowEstimator, near: np.ndarray, far: np.ndarray) -> Link:
    there, back = estimator(near, far), estimator(far, near)
    return Link(there=there, back=back, reliability=reliability(there, back))


def measure_motion(estimator: FlowEstimator, content: np.ndarray, others: Mapping[int, np.ndarray]) -> FrameMotion:
    """Flows both ways and their reliability between ``content`` and each of ``others``
    (content frames by index)."""
    links = {index: measure_link(estimator, content, other) for index, other in others.items()}
    return FrameMotion(towards={index: Motion(link.there, link.reliability) for index, link in links.items()})


def compose(first: np.ndarray, then: np.ndarray) -> np.ndarray:
    """The flow of following ``first`` and then ``then`` from where it led: first(x) +
    then(x + first(x)), float32 (H, W, 2)."""
    map_x, map_y = _sample_maps(first)
    return first + cv2.remap(then, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def chained_motion(links: Sequence[Link]) -> Motion:
    """The motion from a frame to one several links away, composed from the links' flows
    (``links[0]`` starts at the frame) instead of estimated across the gap.

    The backward flow accumulates link after link, each sampled where the chain so far has
    led: backward accumulation drifts less than forward (Wu et al., "AccFlow", ICCV 2023). Its
    reliability is Ruder et al.'s forward-backward check on the chained flow and its reverse
    (composed the same way from the far end), not the product of the links' masks: a product
    is never reliable where the first link is not, and Ruder et al.'s long-term masks keep
    only what the nearer neighbours miss, so it would leave the long-term terms no pixel at
    all. With the check alone, pens.mp4 crossed by a post (benchmarks/bench_shots.py
    long-term-flow) kept the warping error where the post had passed within 1% of direct
    flows' (the product: 4% above).
    """
    backward = links[0].there
    for link in links[1:]:
        backward = compose(backward, link.there)
    forward = links[-1].back
    for link in reversed(links[:-1]):
        forward = compose(forward, link.back)
    return Motion(backward=backward, reliability=reliability(backward, forward))


def enlarged_motion(backward: np.ndarray, mask: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A flow (H, W, 2) and its reliability (H, W) at the processing size, enlarged to ``size``
    (width, height): the vectors scaled with the frame. No second flow at the delivered size:
    DIS at 1080p would cost more than the detail it guides (detail.py), or the
    measure it serves (metrics.py)."""
    width, height = size
    small_h, small_w = backward.shape[:2]
    flow = cv2.resize(backward, (width, height), interpolation=cv2.INTER_LINEAR)
    flow[..., 0] *= width / small_w
    flow[..., 1] *= height / small_h
    return flow, enlarged_mask(mask, size)


def enlarged_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A float32 (H, W) mask in [0, 1] enlarged to ``size`` (width, height), bilinear."""
    return np.clip(cv2.resize(mask, size, interpolation=cv2.INTER_LINEAR), 0.0, 1.0)

"""How one frame relates to another: flows both ways, Ruder et al.'s reliability verdicts
on them, flows chained over several frames, the long-term masks, and flows enlarged to a
larger frame. The flows themselves come from an estimator (``vidstyle.flow``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

Estimator = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""The flow from one frame to another (``vidstyle.flow.FlowEstimator``)."""


def sample_maps(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each pixel x samples: x + flow(x), as cv2.remap's two maps."""
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return grid_x + flow[..., 0], grid_y + flow[..., 1]


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
    map_x, map_y = sample_maps(backward)
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


def neighbour_masks(masks: list[np.ndarray], long_term_flow: str) -> list[np.ndarray]:
    """Where each neighbour pulls, from the reliability of each one's flow (closest first).

    Direct flows: Ruder et al.'s rule (``long_term_masks``). Chained flows: each neighbour
    wherever its own flow is reliable. A chain runs through the nearer frames, so its mask
    lies nearly within theirs, and Ruder et al.'s rule left it almost nothing: at 384 px the
    far terms kept 8-16% of what direct flows gain over ``--long-term 1`` 4 frames apart;
    with their own masks, 65-71% (benchmarks/bench_shots.py long-term-flow; docs/experiments.md,
    "Long-term flows").
    """
    return long_term_masks(masks) if long_term_flow == "direct" else list(masks)


@dataclass(frozen=True)
class Motion:
    """How a frame relates to another: ``backward``, the flow from this frame to the other,
    along which the other's output is warped into this frame, and Ruder et al.'s verdicts on
    it. Named for the first pass, where the other is a frame before; in a later pass of the
    multi-pass algorithm it may be a frame ahead."""

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
    """Two frames' flows both ways, ``near_to_far`` from the frame nearer the visited one to
    the farther (the backward flow of a link in a chain that leads away from the visited
    frame) and ``far_to_near``, and the reliability of ``near_to_far``."""

    near_to_far: np.ndarray
    far_to_near: np.ndarray
    reliability: Reliability


def measure_link(estimator: Estimator, near: np.ndarray, far: np.ndarray) -> Link:
    near_to_far, far_to_near = estimator(near, far), estimator(far, near)
    return Link(near_to_far, far_to_near, reliability(near_to_far, far_to_near))


def measure_motion(estimator: Estimator, content: np.ndarray, others: Mapping[int, np.ndarray]) -> FrameMotion:
    """Flows both ways and their reliability between ``content`` and each of ``others``
    (content frames by index)."""
    links = {index: measure_link(estimator, content, other) for index, other in others.items()}
    return FrameMotion(towards={index: Motion(link.near_to_far, link.reliability) for index, link in links.items()})


def compose(first: np.ndarray, then: np.ndarray) -> np.ndarray:
    """The flow of following ``first`` and then ``then`` from where it led: first(x) +
    then(x + first(x)), float32 (H, W, 2)."""
    map_x, map_y = sample_maps(first)
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
    backward = links[0].near_to_far
    for link in links[1:]:
        backward = compose(backward, link.near_to_far)
    forward = links[-1].far_to_near
    for link in reversed(links[:-1]):
        forward = compose(forward, link.far_to_near)
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

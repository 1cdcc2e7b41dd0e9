"""What each frame of a shot starts from and is held to (Ruder et al. 2016).

``TemporalContext`` keeps the last few content frames and outputs of the current shot and,
for every new frame, decides whether it starts a new shot, which image the optimization
starts from, and which warped previous outputs pull on which pixels. numpy in, numpy out,
except the ready-made ``TemporalTerm`` tensors.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import numpy as np

from vidstyle.config import TemporalSettings
from vidstyle.flow import (
    FlowEstimator,
    FrameMotion,
    Motion,
    is_scene_cut,
    long_term_masks,
    measure_motion,
    warp,
    warp_with_fill,
)

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class PreviousWarp:
    """One earlier output brought into the current frame's geometry."""

    offset: int
    warped: np.ndarray  # float32 (H, W, 3), 0-255, holes filled from the content
    mask: np.ndarray  # float32 (H, W): Ruder et al.'s long-term mask for this offset


@dataclass(frozen=True)
class FramePlan:
    """How to stylize one frame.

    ``starts_shot``: a first frame (no warm start, no temporal loss, the full budget).
    ``init``: the frame to start from, float32 (H, W, 3) 0-255; None for a shot's first frame
    (the job's ``--init`` decides) and for ``--temporal-init random``.
    ``warps``: the temporal terms, closest offset first (empty when starting a shot).
    ``coverage``: reliable fraction of pixels towards the previous frame (None for the first).
    ``backward`` and ``mask``: flow to the previous frame and its reliability, for measuring
    the warping error of the result (None when starting a shot).
    """

    index: int
    starts_shot: bool
    init: np.ndarray | None = None
    warps: tuple[PreviousWarp, ...] = ()
    coverage: float | None = None
    backward: np.ndarray | None = None
    mask: np.ndarray | None = None


class TemporalContext:
    """The recent past of the current shot, and the plan for each next frame."""

    def __init__(self, settings: TemporalSettings, *, use_temporal_loss: bool = True) -> None:
        self.settings = settings
        self.use_temporal_loss = use_temporal_loss
        self.flow = FlowEstimator(settings.flow, settings.dis_preset)
        depth = max(settings.long_term)
        self._contents: deque[np.ndarray] = deque(maxlen=depth)
        self._outputs: deque[np.ndarray] = deque(maxlen=depth)
        self._next_index = 0

    @property
    def motion_offsets(self) -> tuple[int, ...]:
        """The earlier frames a plan needs motion towards: the previous one, and the long-term ones."""
        return tuple(sorted({1, *self.settings.long_term})) if self.use_temporal_loss else (1,)

    def plan(self, content: np.ndarray, motion: FrameMotion | None = None) -> FramePlan:
        """Plan the next frame; ``content`` is uint8 (H, W, 3) at processing size.

        ``motion`` may bring the flows, their reliability and the colour change towards the
        earlier frames (computed ahead in a worker thread, say); by default they are computed
        here. Offsets beyond the current shot are ignored.
        """
        index = self._next_index
        if not self._contents:
            return FramePlan(index, starts_shot=True)
        if motion is None:
            motion = measure_motion(self.flow, content, self.recent_contents, self.motion_offsets)
        nearest = motion.to_previous[1]
        coverage, jump = nearest.reliability.coverage, motion.histogram_jump
        if is_scene_cut(coverage, jump, self.settings.cut_threshold):
            log.info("scene cut at frame %d (reliable area %.0f%%, colour change %.2f)", index, 100 * coverage, jump)
            self._forget()
            return FramePlan(index, starts_shot=True, coverage=coverage)
        warps: tuple[PreviousWarp, ...] = ()
        init = self._init(content, nearest)
        if self.use_temporal_loss:
            in_shot = [offset for offset in self.settings.long_term if offset <= len(self._contents)]
            masks = long_term_masks([motion.to_previous[offset].reliability.mask for offset in in_shot])
            warps = tuple(
                PreviousWarp(offset, self._warped(offset, content, motion.to_previous[offset], init), mask)
                for offset, mask in zip(in_shot, masks, strict=True)
            )
        return FramePlan(
            index,
            starts_shot=False,
            init=init,
            warps=warps,
            coverage=coverage,
            backward=nearest.backward,
            mask=nearest.reliability.mask,
        )

    @property
    def recent_contents(self) -> list[np.ndarray]:
        """Content frames of the current shot, nearest first (offset 1, 2, ...)."""
        return list(reversed(self._contents))

    @property
    def previous_output(self) -> np.ndarray:
        return self._outputs[-1]

    def _forget(self) -> None:
        self._contents.clear()
        self._outputs.clear()

    def _warped(self, offset: int, content: np.ndarray, motion: Motion, init: np.ndarray | None) -> np.ndarray:
        """The output ``offset`` frames back, warped into this frame, holes from the content."""
        if offset == 1 and self.settings.init == "prev-warped" and init is not None:
            return init  # the warm start is this very warp: do it once
        return warp_with_fill(self._outputs[-offset], motion.backward, content, motion.reliability.holes)

    def _init(self, content: np.ndarray, nearest: Motion) -> np.ndarray | None:
        mode = self.settings.init
        if mode == "prev-warped":
            # Ruder et al.: disoccluded and out-of-frame pixels have no past; start them from the content.
            return warp_with_fill(self._outputs[-1], nearest.backward, content, nearest.reliability.holes)
        if mode == "prev":
            return self._outputs[-1].astype(np.float32)
        if mode == "content":
            return content.astype(np.float32)
        return None

    def commit(self, content: np.ndarray, output: np.ndarray, *, starts_shot: bool = False) -> None:
        """Record the frame just planned (or, on resume, rendered earlier): content and uint8 output."""
        if starts_shot:
            self._forget()
        self._contents.append(content)
        self._outputs.append(output)
        self._next_index += 1


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

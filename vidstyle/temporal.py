"""What each frame of a shot starts from and is held to (Ruder et al. 2016).

``TemporalContext`` keeps the last few content frames and outputs of the current shot and,
for every new frame, decides whether it starts a new shot, which image the optimization
starts from, and which warped previous outputs pull on which pixels. numpy in, numpy out,
except the ready-made ``TemporalTerm`` tensors.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vidstyle.config import TemporalSettings
from vidstyle.flow import (
    FlowEstimator,
    Reliability,
    histogram_distance,
    is_scene_cut,
    long_term_masks,
    reliability,
    warp,
    warp_with_fill,
)

log = logging.getLogger(__name__)

FlowSource = Callable[[int], tuple[np.ndarray, np.ndarray]]
"""offset -> (backward, forward) flows between the current frame and the one ``offset`` before."""


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
    histogram_jump: float | None = None
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

    def plan(self, content: np.ndarray, flows: FlowSource | None = None) -> FramePlan:
        """Plan the next frame; ``content`` is uint8 (H, W, 3) at processing size.

        ``flows(offset)`` may supply the (backward, forward) flows between this frame and the
        one ``offset`` before (computed ahead in a worker thread, say); by default they are
        computed here.
        """
        index = self._next_index
        if not self._contents:
            return FramePlan(index, starts_shot=True)
        get_flows = flows or self._flows_for(content)
        backward, forward = get_flows(1)
        nearest = reliability(backward, forward)
        jump = histogram_distance(self._contents[-1], content)
        if is_scene_cut(nearest.coverage, jump, self.settings.cut_threshold):
            log.info(
                "scene cut at frame %d (reliable area %.0f%%, colour change %.2f)", index, 100 * nearest.coverage, jump
            )
            self._forget()
            return FramePlan(index, starts_shot=True, coverage=nearest.coverage, histogram_jump=jump)
        warps: tuple[PreviousWarp, ...] = ()
        if self.use_temporal_loss:
            verdicts = {1: (backward, nearest)}
            for offset in self.settings.long_term:
                if offset not in verdicts and offset <= len(self._contents):
                    back_j, forward_j = get_flows(offset)
                    verdicts[offset] = (back_j, reliability(back_j, forward_j))
            warps = self._warps(content, verdicts)
        return FramePlan(
            index,
            starts_shot=False,
            init=self._init(content, backward, nearest),
            warps=warps,
            coverage=nearest.coverage,
            histogram_jump=jump,
            backward=backward,
            mask=nearest.mask,
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

    def _flows_for(self, content: np.ndarray) -> FlowSource:
        def flows(offset: int) -> tuple[np.ndarray, np.ndarray]:
            previous = self._contents[-offset]
            return self.flow(content, previous), self.flow(previous, content)

        return flows

    def _warps(
        self, content: np.ndarray, verdicts: dict[int, tuple[np.ndarray, Reliability]]
    ) -> tuple[PreviousWarp, ...]:
        offsets = [offset for offset in self.settings.long_term if offset in verdicts]
        masks = long_term_masks([verdicts[offset][1].mask for offset in offsets])
        warps = []
        for offset, mask in zip(offsets, masks, strict=True):
            backward, verdict = verdicts[offset]
            warped = warp_with_fill(self._outputs[-offset], backward, content, verdict.holes)
            warps.append(PreviousWarp(offset=offset, warped=warped, mask=mask))
        return tuple(warps)

    def _init(self, content: np.ndarray, backward: np.ndarray, nearest: Reliability) -> np.ndarray | None:
        mode = self.settings.init
        if mode == "prev-warped":
            # Ruder et al.: disoccluded and out-of-frame pixels have no past; start them from the content.
            return warp_with_fill(self._outputs[-1], backward, content, nearest.holes)
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

"""What each frame of a shot starts from and is held to (Ruder et al. 2016).

``FramePlanner`` knows one shot, or one chunk of a long shot: the order its frames are
visited in (one pass, or Ruder et al.'s multi-pass algorithm), which neighbours each visit
needs motion towards (so that flows can be computed ahead, from the source frames alone),
and, given that motion and the outputs so far, the plan of each visit: where its
optimization starts and which warped neighbours pull on which pixels. ``HandoverPlanner``
re-visits frames that already have an output, to join two pieces rendered apart: a chunk
to the chunk before it, or the clip's end to its start (``--loop``). numpy in, numpy out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vidstyle.flow.motion import FrameMotion, Motion, neighbour_masks
from vidstyle.settings import TemporalSettings
from vidstyle.shots import Shot
from vidstyle.warps import HOST_WARPS, Warps

# Ruder et al.'s multi-pass start, (1 - d*c) * own + d*c * warp(neighbour): artistic-videos
# takes the warped neighbour wherever it is reliable (d = 1), and so do we.
PASS_BLEND = 1.0
# A handover (a chunk's seam, the loop's) spreads over this many frames (see Handover).
HANDOVER_FRAMES = 8


@dataclass(frozen=True)
class Handover:
    """Joins two pieces rendered apart: once both are done, ``frames`` (the first of the piece
    after the seam) are visited once more, the first starting from the ``last`` frame before
    the seam warped, each from the one re-visited before it. The weight of that chain falls
    from 1 (the seam, held like any frame pair) to 0 (the frame's own result), so the
    difference between the pieces spreads over these frames instead of showing as a jump at
    the seam. For ``--loop``, ``last`` is the clip's last frame and ``frames`` its first:
    pulling only the last frame towards the first (tried first) left the seam's warping error
    at about 6x the clip's mean on a circling texture; this keeps it at the mean
    (tests/test_shot_render.py). For a chunk, Ruder et al.'s multi-pass machinery with
    temporal terms on both sides: the chain behind, the frame's own result ahead."""

    last: int
    frames: tuple[int, ...]

    def weight(self, index: int) -> float:
        """How strongly the re-visited chain holds ``index`` (1 at the seam, falling)."""
        return 1.0 - self.frames.index(index) / len(self.frames)

    def before(self, index: int) -> int:
        position = self.frames.index(index)
        return self.last if position == 0 else self.frames[position - 1]


@dataclass(frozen=True)
class Visit:
    """One optimization of one frame: ``pass_number`` from 1, travelling ``direction`` +1
    (forward in time) or -1."""

    index: int
    pass_number: int
    direction: int


@dataclass(frozen=True)
class PreviousWarp:
    """One neighbour's output brought into the current frame's geometry."""

    offset: int  # signed: -1 is the frame before, +1 the frame after, 0 the frame's own last result
    warped: np.ndarray  # float32 (H, W, 3), 0-255, holes filled from the content
    mask: np.ndarray  # float32 (H, W): Ruder et al.'s (long-term) mask for this neighbour


@dataclass(frozen=True)
class FramePlan:
    """How to stylize one visit of a frame.

    ``fresh``: no neighbour to start from (a shot's first frame in the first pass, or a flash
    frame): the job's ``--init``, the first-frame budget, coarse-to-fine.
    ``init``: the frame to start from, float32 (H, W, 3) 0-255; None when fresh, and for
    ``--temporal-init random``.
    ``warps``: the temporal terms, the side visited before first, closest first on each side.
    ``coverage``: reliable fraction of pixels towards the neighbour visited just before.
    ``backward`` and ``mask``: flow to that neighbour and its reliability, for measuring the
    result's warping error (None when fresh); ``neighbour`` is its index.
    """

    visit: Visit
    fresh: bool
    init: np.ndarray | None = None
    warps: tuple[PreviousWarp, ...] = ()
    coverage: float | None = None
    neighbour: int | None = None
    backward: np.ndarray | None = None
    mask: np.ndarray | None = None

    @property
    def index(self) -> int:
        return self.visit.index


class Planner(Protocol):
    """What renders a piece of a shot needs of its planner.

    ``creates``: the frames whose outputs it makes from nothing (an output of one of them
    that is older than its visit is stale); every other frame it reads was finished before.
    ``flashes``: the flash frames among its visits (visited once, with their whole budget).
    """

    creates: range
    flashes: frozenset[int]

    def visits(self) -> Iterator[Visit]: ...

    def needs(self, visit: Visit) -> tuple[int, ...]: ...

    def routes(self, visit: Visit) -> tuple[tuple[int, ...], ...]: ...

    def plan(
        self,
        visit: Visit,
        content: np.ndarray,
        motion: FrameMotion,
        output_of: Callable[[int], np.ndarray | None],
    ) -> FramePlan: ...


class FramePlanner:
    """The visits of one shot (or chunk: ``shot`` holds its frames) and the plan of each."""

    def __init__(
        self,
        settings: TemporalSettings,
        shot: Shot,
        *,
        flashes: frozenset[int] = frozenset(),
        use_temporal_loss: bool = True,
        warps: Warps = HOST_WARPS,
    ) -> None:
        self.settings = settings
        self.shot = shot
        self.creates = shot.frames
        self.flashes = flashes
        self.use_temporal_loss = use_temporal_loss
        self.warps = warps

    def visits(self) -> Iterator[Visit]:
        """Ruder et al.'s passes: the first forward, then alternating; flash frames only once."""
        for pass_number in range(1, self.settings.passes + 1):
            direction = 1 if pass_number % 2 else -1
            frames = self.shot.frames if direction > 0 else reversed(self.shot.frames)
            for index in frames:
                if pass_number == 1 or index not in self.flashes:
                    yield Visit(index, pass_number, direction)

    def _step(self, index: int, step: int) -> int | None:
        """The frame ``step`` frames away in the shot (flash frames are skipped, not counted);
        None past the shot's ends."""
        position = index
        for _ in range(abs(step)):
            position += 1 if step > 0 else -1
            while position in self.flashes:
                position += 1 if step > 0 else -1
            if not self.shot.start <= position < self.shot.stop:
                return None
        return position

    def _side(self, visit: Visit, side: int) -> list[tuple[int, int]]:
        """(offset, frame) of the neighbours on one side (-1 before, +1 after) that may pull."""
        offsets = self.settings.long_term if self.use_temporal_loss else (1,)
        found = [(side * k, self._step(visit.index, side * k)) for k in offsets]
        return [(offset, frame) for offset, frame in found if frame is not None]

    def _ahead(self, visit: Visit) -> list[tuple[int, int]]:
        """Neighbours on the side not visited yet in this pass: in a later pass they hold the
        pass before's outputs; in the first, nothing yet."""
        if not self.use_temporal_loss or visit.pass_number == 1:
            return []
        return self._side(visit, visit.direction)

    def needs(self, visit: Visit) -> tuple[int, ...]:
        """The frames this visit needs motion towards (source frames only: computable ahead)."""
        if visit.index in self.flashes:
            return ()
        frames = [frame for _, frame in (*self._side(visit, -visit.direction), *self._ahead(visit))]
        return tuple(dict.fromkeys(frames))

    def routes(self, visit: Visit) -> tuple[tuple[int, ...], ...]:
        """For each frame in ``needs(visit)``, the frames its motion is measured through, from
        the visited frame to it: the two alone for a direct flow, every frame between (flash
        frames skipped) for a chained one (``flow.chained_motion``)."""
        if self.settings.long_term_flow == "direct":
            return tuple((visit.index, frame) for frame in self.needs(visit))
        routes = []
        for frame in self.needs(visit):
            side = 1 if frame > visit.index else -1
            route = [visit.index]
            while route[-1] != frame:
                step = self._step(route[-1], side)
                assert step is not None  # frame is inside the shot, on this side
                route.append(step)
            routes.append(tuple(route))
        return tuple(routes)

    def plan(
        self,
        visit: Visit,
        content: np.ndarray,
        motion: FrameMotion,
        output_of: Callable[[int], np.ndarray | None],
    ) -> FramePlan:
        """Plan ``visit``; ``content`` is uint8 (H, W, 3) at processing size, ``motion`` holds
        the flows towards ``needs(visit)``, ``output_of(frame)`` a frame's latest output or None."""
        if visit.index in self.flashes:
            return FramePlan(visit, fresh=True)
        behind = [(o, f, output_of(f)) for o, f in self._side(visit, -visit.direction)]
        ahead = [(o, f, output_of(f)) for o, f in self._ahead(visit)]
        behind = [item for item in behind if item[2] is not None]
        ahead = [item for item in ahead if item[2] is not None]
        own = output_of(visit.index) if visit.pass_number > 1 else None
        nearest = behind[0] if behind and abs(behind[0][0]) == 1 else None
        if nearest is None and own is None:
            return FramePlan(visit, fresh=True)
        near_motion = motion.towards[nearest[1]] if nearest is not None else None
        init = self._init(content, own, nearest[2] if nearest else None, near_motion)
        warps: list[PreviousWarp] = []
        if self.use_temporal_loss:
            for side in (behind, ahead):
                if not side:
                    continue
                masks = neighbour_masks(
                    [motion.towards[frame].reliability.mask for _, frame, _ in side], self.settings.long_term_flow
                )
                for (offset, frame, output), mask in zip(side, masks, strict=True):
                    assert output is not None
                    reuse = init is not None and near_motion is not None and own is None and side is behind
                    reuse = reuse and abs(offset) == 1 and self.settings.init == "prev-warped"
                    warped = init if reuse else self.warps.target(output, motion.towards[frame])
                    assert warped is not None
                    warps.append(PreviousWarp(offset, warped, mask))
        return FramePlan(
            visit,
            fresh=False,
            init=init,
            warps=tuple(warps),
            coverage=near_motion.reliability.coverage if near_motion else None,
            neighbour=nearest[1] if nearest else None,
            backward=near_motion.backward if near_motion else None,
            mask=near_motion.reliability.mask if near_motion else None,
        )

    def _init(
        self, content: np.ndarray, own: np.ndarray | None, neighbour: np.ndarray | None, motion: Motion | None
    ) -> np.ndarray | None:
        if own is not None:
            # A later pass (Ruder et al., multi-pass): the frame's own last result, blended with
            # the neighbour just visited where the flow towards it is reliable.
            if neighbour is None or motion is None:
                return own.astype(np.float32)
            weight = (PASS_BLEND * motion.reliability.mask)[..., None]
            return (1 - weight) * own.astype(np.float32) + weight * self.warps.target(neighbour, motion)
        assert neighbour is not None and motion is not None
        mode = self.settings.init
        if mode == "prev-warped":
            # Disoccluded and out-of-frame pixels have no past; they start from the content (Ruder
            # et al.), here in the colours painted around them (warps.warp_with_fill).
            return self.warps.start(neighbour, content, motion)
        if mode == "prev":
            return neighbour.astype(np.float32)
        if mode == "content":
            return content.astype(np.float32)
        return None


class HandoverPlanner:
    """The visits of one ``Handover``, made after the ones of every piece it joins, as a pass
    of their own (numbered after the job's passes, the budget of a later pass)."""

    creates = range(0)
    flashes: frozenset[int] = frozenset()

    def __init__(
        self,
        settings: TemporalSettings,
        handover: Handover,
        *,
        use_temporal_loss: bool = True,
        warps: Warps = HOST_WARPS,
    ) -> None:
        self.settings = settings
        self.handover = handover
        self.use_temporal_loss = use_temporal_loss
        self.warps = warps

    def visits(self) -> Iterator[Visit]:
        for index in self.handover.frames:
            yield Visit(index, self.settings.passes + 1, 1)

    def needs(self, visit: Visit) -> tuple[int, ...]:
        return (self.handover.before(visit.index),)

    def routes(self, visit: Visit) -> tuple[tuple[int, ...], ...]:
        return ((visit.index, self.handover.before(visit.index)),)

    def plan(
        self, visit: Visit, content: np.ndarray, motion: FrameMotion, output_of: Callable[[int], np.ndarray | None]
    ) -> FramePlan:
        """Held by the re-visited chain with the handover's weight, and by the frame's own
        result with the rest."""
        before = self.handover.before(visit.index)
        own, previous = output_of(visit.index), output_of(before)
        assert own is not None and previous is not None
        towards = motion.towards[before]
        weight = self.handover.weight(visit.index)
        reliable = towards.reliability.mask
        warped = self.warps.target(previous, towards)
        blend = (weight * reliable)[..., None]
        init = (1 - blend) * own.astype(np.float32) + blend * warped
        warps: tuple[PreviousWarp, ...] = ()
        if self.use_temporal_loss:
            warps = (
                PreviousWarp(-1, warped, weight * reliable),
                PreviousWarp(0, own.astype(np.float32), np.full_like(reliable, 1.0 - weight)),
            )
        return FramePlan(
            visit,
            fresh=False,
            init=init,
            warps=warps,
            coverage=towards.reliability.coverage,
            neighbour=before,
            backward=towards.backward,
            mask=reliable,
        )

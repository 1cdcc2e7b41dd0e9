"""The shot plan: where the shots of a video start, found before rendering.

A fast pre-pass decodes the frames at a small size and asks two witnesses:

- PySceneDetect's ``AdaptiveDetector`` (the HSV content change of each frame against the
  average of its neighbours: camera motion raises all of them together, a cut only one);
- vidstyle's own flow check: a frame whose reliable flow area towards the frame before
  collapses, or whose colours jump, cannot be warm-started from it (``flow.is_scene_cut``).

A cut from either splits the shot there. A flash (one or two frames unlike their neighbours,
after which the picture returns to what it was) is not a cut: when the frame after it follows
from the frame before it, the cuts around it are dropped and its frames are marked as flash
frames, which the frame planner neither warm-starts from nor warm-starts.

The plan also keeps every frame's pts and time, so that the encoder and a resumed render
need not decode the frames they do not render.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vidstyle import imageops
from vidstyle.flow import FlowEstimator
from vidstyle.flow.motion import measure_motion
from vidstyle.settings import DisPreset, TemporalSettings
from vidstyle.sizes import fit_long_side
from vidstyle.video_io import Segment, read_frames

# The pre-pass looks at frames this big (long side), with DIS at its medium preset: enough to
# tell a cut (the 1906 film's real cut and pens.mp4 are judged as at full size with the fine
# preset) at about 30 ms a frame on a 2-core CPU, a third of the fine preset's cost.
ANALYSIS_SIDE = 160
ANALYSIS_DIS_PRESET: DisPreset = "medium"
# PySceneDetect's defaults, but shots may be shorter than its 15 frames: the flow check
# already keeps a warm start from crossing a real cut, and a short shot is still a shot.
ADAPTIVE_THRESHOLD = 3.0
MIN_SHOT_FRAMES = 6
# The longest run of frames that may differ from both neighbours and still count as a flash.
MAX_FLASH_FRAMES = 2


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
class Shot:
    """Frames ``start`` to ``stop - 1`` of the rendered segment (0-based, like frame records)."""

    number: int
    start: int
    stop: int

    @property
    def frames(self) -> range:
        return range(self.start, self.stop)

    def __len__(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class ShotPlan:
    """Every frame's pts and time (seconds since the stream's start, as ``--start`` counts),
    the first frame of each shot, and the flash frames."""

    pts: tuple[int, ...]
    times: tuple[Fraction, ...]
    starts: tuple[int, ...]
    flashes: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        assert self.starts and self.starts[0] == 0 and len(self.pts) == len(self.times)

    @property
    def frame_count(self) -> int:
        return len(self.pts)

    @property
    def cuts(self) -> tuple[int, ...]:
        """First frames of the shots after the first."""
        return self.starts[1:]

    @property
    def shots(self) -> tuple[Shot, ...]:
        stops = (*self.starts[1:], self.frame_count)
        return tuple(
            Shot(number, start, stop) for number, (start, stop) in enumerate(zip(self.starts, stops, strict=True))
        )

    def shot_of(self, frame: int) -> Shot:
        return next(shot for shot in reversed(self.shots) if shot.start <= frame)

    def describe(self) -> list[tuple[str, str]]:
        """One (name, text) row per shot: its frames, its start time and any flash in it."""
        rows = []
        for shot in self.shots:
            flashes = ", ".join(str(f) for f in self.flashes if shot.start <= f < shot.stop)
            note = f", flash at {flashes}" if flashes else ""
            start = float(self.times[shot.start])
            rows.append(
                (
                    f"shot {shot.number + 1}",
                    f"frames {shot.start}-{shot.stop - 1} ({len(shot)}), from {start:.3f} s{note}",
                )
            )
        return rows

    def to_json(self) -> dict[str, Any]:
        return {
            "pts": list(self.pts),
            "times": [str(t) for t in self.times],
            "starts": list(self.starts),
            "flashes": list(self.flashes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShotPlan:
        return cls(
            pts=tuple(int(p) for p in data["pts"]),
            times=tuple(Fraction(t) for t in data["times"]),
            starts=tuple(int(s) for s in data["starts"]),
            flashes=tuple(int(f) for f in data["flashes"]),
        )


@dataclass(frozen=True)
class TimedFrame:
    """A small frame of the pre-pass with its timing."""

    pts: int
    time: Fraction
    frame: np.ndarray


def plan_shots(
    path: Path,
    segment: Segment,
    settings: TemporalSettings,
    frame_rate: Fraction | None,
    on_frame: Callable[[int], None] | None = None,
) -> ShotPlan:
    """Decode ``segment`` of the video at ``path`` small and find its shots; ``on_frame(n)``
    as each frame is taken (n frames before it), and with the count at the end."""
    frames: Iterable[TimedFrame] = _small_frames(path, segment)
    if on_frame is not None:
        frames = _counted(frames, on_frame)
    return find_shots(frames, settings, frame_rate)


def _counted(frames: Iterable[TimedFrame], on_frame: Callable[[int], None]) -> Iterator[TimedFrame]:
    count = 0
    for frame in frames:
        on_frame(count)
        yield frame
        count += 1
    on_frame(count)


def _small_frames(path: Path, segment: Segment) -> Iterator[TimedFrame]:
    for decoded in read_frames(path, segment):
        height, width = decoded.frame.shape[:2]
        size = fit_long_side(width, height, min(ANALYSIS_SIDE, max(width, height)))
        yield TimedFrame(decoded.pts, decoded.time, imageops.resize_frame(decoded.frame, *size))


class _Continuity:
    """Does frame b follow from frame a? Flow coverage and colour, as ``flow.is_scene_cut`` judges."""

    def __init__(self, settings: TemporalSettings) -> None:
        self.settings = settings
        # DIS whatever --flow says: the cut threshold was tuned on its coverage (TemporalSettings),
        # and the plan's pass at 160 px is no place for a GPU engine.
        self.flow = FlowEstimator("dis", ANALYSIS_DIS_PRESET)

    def follows(self, a: np.ndarray, b: np.ndarray) -> bool:
        coverage = measure_motion(self.flow, b, {0: a}).towards[0].reliability.coverage
        return not is_scene_cut(coverage, histogram_distance(a, b), self.settings.cut_threshold)


def find_shots(frames: Iterable[TimedFrame], settings: TemporalSettings, frame_rate: Fraction | None) -> ShotPlan:
    """The shot plan of ``frames`` (RGB, any size; ``ANALYSIS_SIDE`` is plenty).

    ``settings.cut_threshold`` 0 turns detection off: one shot.
    """
    # Imported here: PySceneDetect pulls in click and more, which --help need not wait for.
    from scenedetect import FrameTimecode
    from scenedetect.detectors import AdaptiveDetector

    detect = settings.cut_threshold > 0
    fps = float(frame_rate) if frame_rate else 25.0  # timecodes only; cuts come back as frame numbers
    detector = AdaptiveDetector(adaptive_threshold=ADAPTIVE_THRESHOLD, min_scene_len=MIN_SHOT_FRAMES)
    continuity = _Continuity(settings)
    pts: list[int] = []
    times: list[Fraction] = []
    candidates: set[int] = set()
    bridged: set[int] = set()  # frames inside a flash: the frames around them follow each other
    returned: set[int] = set()  # the first frame after each flash
    recent: deque[np.ndarray] = deque(maxlen=MAX_FLASH_FRAMES + 1)
    breaks: deque[bool] = deque(maxlen=MAX_FLASH_FRAMES + 1)  # did frame i-k break from the one before?
    index = -1
    for index, timed in enumerate(frames):
        pts.append(timed.pts)
        times.append(timed.time)
        if not detect:
            continue
        frame = timed.frame
        bgr = np.ascontiguousarray(frame[..., ::-1])
        candidates.update(cut.frame_num for cut in detector.process_frame(FrameTimecode(index, fps), bgr))
        broke = bool(recent) and not continuity.follows(recent[-1], frame)
        if broke:
            candidates.add(index)
        # A flash ends here if this frame follows from the frame before a recent break: the
        # frames between are the flash (at most MAX_FLASH_FRAMES of them).
        for gap in range(1, min(len(recent), MAX_FLASH_FRAMES + 1)):
            if returned.intersection(range(index - gap + 1, index)):
                break  # the flash already ended at a frame in between
            if breaks[-gap] and continuity.follows(recent[-gap - 1], frame):
                bridged.update(range(index - gap, index))
                returned.add(index)
                break
        recent.append(frame)
        breaks.append(broke)
    if index < 0:
        return ShotPlan(pts=(), times=(), starts=(0,))
    if detect:
        candidates.update(cut.frame_num for cut in detector.post_process(FrameTimecode(index, fps)))
    # A cut at a flash frame, or at the frame right after a flash, is the flash's doing.
    flash_cuts = bridged | {f + 1 for f in bridged}
    starts = sorted({0} | {c for c in candidates if 0 < c <= index and c not in flash_cuts})
    return ShotPlan(pts=tuple(pts), times=tuple(times), starts=tuple(starts), flashes=tuple(sorted(bridged)))

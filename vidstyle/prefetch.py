"""Motion for the frames ahead, computed in worker threads while the current one is optimized.

Flows, their reliability and the colour change depend on the source frames alone, so they can
be computed several frames ahead: on a CPU one worker beside the network is enough, and on a
GPU, where the network leaves the cores free, several workers keep up with frames that take a
fraction of a second. OpenCV releases the GIL. The results are the same as computed inline
(tests/test_flow.py): only their timing changes.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import TypeVar

import numpy as np

from vidstyle.config import TemporalSettings
from vidstyle.flow import FlowEstimator, FrameMotion, measure_motion

T = TypeVar("T")


class MotionPrefetcher:
    """A pool of flow workers, each with its own estimator (OpenCV's keep state between calls)."""

    def __init__(self, settings: TemporalSettings, *, offsets: Sequence[int], workers: int = 1) -> None:
        self.settings = settings
        self.offsets = tuple(offsets)
        self.workers = max(1, workers)
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="vidstyle-flow")

    def __enter__(self) -> MotionPrefetcher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def ahead(
        self, frames: Iterable[tuple[T, np.ndarray]], *, start: int = 0
    ) -> Iterator[tuple[T, np.ndarray, Future[FrameMotion] | None]]:
        """Each (item, content frame) with the future of its motion towards the frames before.

        Reads ``workers + 1`` frames ahead of the consumer so that every worker has a frame.
        The first frame, and frames before ``start`` (already rendered), get None.
        """
        recent: deque[np.ndarray] = deque(maxlen=max(self.offsets))
        queue: deque[tuple[T, np.ndarray, Future[FrameMotion] | None]] = deque()
        for index, (item, content) in enumerate(frames):
            future = None
            if index >= start and recent:
                future = self._executor.submit(self._measure, content, list(reversed(recent)))
            recent.append(content)
            queue.append((item, content, future))
            if len(queue) > self.workers:
                yield queue.popleft()
        while queue:
            yield queue.popleft()

    def _measure(self, content: np.ndarray, previous: list[np.ndarray]) -> FrameMotion:
        estimator = getattr(self._local, "estimator", None)
        if estimator is None:
            estimator = self._local.estimator = FlowEstimator(self.settings.flow, self.settings.dis_preset)
        return measure_motion(estimator, content, previous, self.offsets)

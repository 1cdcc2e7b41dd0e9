"""Motion for the frames ahead: on a GPU computed in worker threads while the current frame is
optimized, on a CPU when each frame comes up.

Flows and their reliability depend on the source frames alone, so they can be computed
several frames ahead: on a GPU, where the network leaves the cores free, several workers keep
up with frames that take a fraction of a second. OpenCV releases the GIL. On a CPU, whose
cores the network uses, there are no workers: each frame's motion is computed when the frame
comes up (device.configure_threads says why). The results are the same either way
(tests/test_flow.py): only their timing changes.
"""

from __future__ import annotations

import functools
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import TypeVar

import numpy as np

from vidstyle.config import TemporalSettings
from vidstyle.flow import FlowEstimator, FrameMotion, measure_motion

T = TypeVar("T")


class _OnDemand(Future[FrameMotion]):
    """A future computed by the first thread that asks for its result (and timed as its work)."""

    def __init__(self, compute: Callable[[], FrameMotion]) -> None:
        super().__init__()
        self._compute = compute

    def result(self, timeout: float | None = None) -> FrameMotion:
        if not self.done():
            try:
                self.set_result(self._compute())
            except Exception as exc:
                self.set_exception(exc)
        return super().result(timeout)


class MotionPrefetcher:
    """A pool of flow workers, each with its own estimator (OpenCV's keep state between calls).

    ``workers`` 0 computes each frame's motion in the consumer's thread, when the consumer
    asks for that frame: between frames, on a CPU whose cores the network uses.
    """

    def __init__(self, settings: TemporalSettings, *, workers: int = 1) -> None:
        self.settings = settings
        self.workers = max(0, workers)
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(max_workers=max(1, self.workers), thread_name_prefix="vidstyle-flow")

    def __enter__(self) -> MotionPrefetcher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def ahead(
        self,
        items: Iterable[T],
        frame_of: Callable[[T], int],
        needs: Callable[[T], Sequence[int]],
        content: Callable[[int], np.ndarray],
    ) -> Iterator[tuple[T, Future[FrameMotion]]]:
        """Each item with the future of its frame's motion towards the frames it ``needs``.

        ``content(index)`` gives a content frame; it is called here, in the consumer's thread,
        ``workers + 1`` items ahead of the consumer so that every worker has a frame (with no
        workers, for the item being handed over).
        """
        if self.workers == 0:
            for item in items:
                others = {other: content(other) for other in needs(item)}
                yield item, _OnDemand(functools.partial(self._measure, content(frame_of(item)), others))
            return
        queue: deque[tuple[T, Future[FrameMotion]]] = deque()
        for item in items:
            others = {other: content(other) for other in needs(item)}
            queue.append((item, self._executor.submit(self._measure, content(frame_of(item)), others)))
            if len(queue) > self.workers:
                yield queue.popleft()
        while queue:
            yield queue.popleft()

    def _measure(self, content: np.ndarray, others: dict[int, np.ndarray]) -> FrameMotion:
        estimator = getattr(self._local, "estimator", None)
        if estimator is None:
            estimator = self._local.estimator = FlowEstimator(self.settings.flow, self.settings.dis_preset)
        return measure_motion(estimator, content, others)

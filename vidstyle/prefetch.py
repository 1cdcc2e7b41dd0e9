"""Motion for the frames ahead: on a GPU computed in worker threads while the current frame is
optimized, on a CPU when each frame comes up.

Flows and their reliability depend on the source frames alone, so they can be computed
several frames ahead: on a GPU, where the network leaves the cores free, several workers keep
up with frames that take a fraction of a second. OpenCV releases the GIL. On a CPU, whose
cores the network uses, there are no workers: each frame's motion is computed when the frame
comes up (backend.py says why). The results are the same either way
(tests/test_flow.py): only their timing changes.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import TypeVar

import numpy as np

from vidstyle.flow import FlowEstimator
from vidstyle.flow.motion import FrameMotion, Link, Motion, chained_motion, measure_link, reliability
from vidstyle.settings import TemporalSettings

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

    A motion is measured along a route of frames (``FramePlanner.routes``): one link for a
    direct flow, several for a chained one. Each link's flows are estimated once and kept
    while later frames may pass through them (``keep_links``): a chained long-term flow
    costs no estimation of its own, only the composition.
    """

    def __init__(self, settings: TemporalSettings, *, workers: int = 1) -> None:
        self.settings = settings
        self.workers = max(0, workers)
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(max_workers=max(1, self.workers), thread_name_prefix="vidstyle-flow")
        # A forward pass reaches back max(long_term) links; the workers run that many frames ahead.
        self.keep_links = 2 * (max(settings.long_term) + self.workers + 1)
        self._links: OrderedDict[tuple[int, int], Future[Link]] = OrderedDict()
        self._links_lock = threading.Lock()
        self.links_measured = 0

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
        routes: Callable[[T], Sequence[tuple[int, ...]]],
        content: Callable[[int], np.ndarray],
    ) -> Iterator[tuple[T, Future[FrameMotion]]]:
        """Each item with the future of its frame's motion along each of its ``routes`` (to
        the route's last frame).

        ``content(index)`` gives a content frame; it is called here, in the consumer's thread,
        ``workers + 1`` items ahead of the consumer so that every worker has a frame (with no
        workers, for the item being handed over).
        """
        if self.workers == 0:
            for item in items:
                paths = routes(item)
                frames = self._contents(frame_of(item), paths, content)
                yield item, _OnDemand(functools.partial(self._measure, paths, frames))
            return
        queue: deque[tuple[T, Future[FrameMotion]]] = deque()
        for item in items:
            paths = routes(item)
            frames = self._contents(frame_of(item), paths, content)
            queue.append((item, self._executor.submit(self._measure, paths, frames)))
            if len(queue) > self.workers:
                yield queue.popleft()
        while queue:
            yield queue.popleft()

    @staticmethod
    def _contents(
        frame: int, routes: Sequence[tuple[int, ...]], content: Callable[[int], np.ndarray]
    ) -> dict[int, np.ndarray]:
        frames = {frame: content(frame)}
        for route in routes:
            for index in route:
                if index not in frames:
                    frames[index] = content(index)
        return frames

    def _measure(self, routes: Sequence[tuple[int, ...]], frames: dict[int, np.ndarray]) -> FrameMotion:
        towards: dict[int, Motion] = {}
        for route in routes:
            links = [self._link(near, far, frames) for near, far in itertools.pairwise(route)]
            if len(links) == 1:
                towards[route[-1]] = Motion(backward=links[0].near_to_far, reliability=links[0].reliability)
            else:
                towards[route[-1]] = chained_motion(links)
        return FrameMotion(towards=towards)

    def _link(self, near: int, far: int, frames: dict[int, np.ndarray]) -> Link:
        """The link from ``near`` to ``far``, measured by the first thread that needs it."""
        with self._links_lock:
            future = self._links.get((near, far))
            reverse = self._links.get((far, near))
            owner = future is None
            if future is None:
                future = self._links[(near, far)] = Future()
                while len(self._links) > self.keep_links:
                    self._links.popitem(last=False)
            else:
                self._links.move_to_end((near, far))
        if owner:
            try:
                if reverse is not None:
                    # The same two flows, the other way round (a later pass travels back).
                    other = reverse.result()
                    flows = (other.far_to_near, other.near_to_far)
                    link = Link(*flows, reliability=reliability(*flows))
                else:
                    link = measure_link(self._estimator(), frames[near], frames[far])
                    self.links_measured += 1
                future.set_result(link)
            except BaseException as exc:
                future.set_exception(exc)
                raise
        return future.result()

    def _estimator(self) -> FlowEstimator:
        estimator: FlowEstimator | None = getattr(self._local, "estimator", None)
        if estimator is None:
            estimator = self._local.estimator = FlowEstimator(self.settings.flow, self.settings.dis_preset)
        return estimator

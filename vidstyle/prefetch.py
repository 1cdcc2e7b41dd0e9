"""Optical flow for the next frame, computed in a worker thread while this frame is optimized.

OpenCV releases the GIL, so the flow costs no wall time as long as the network keeps the
main thread busy. The flows are the same as computed inline: only their timing changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

import numpy as np

from vidstyle.config import TemporalSettings
from vidstyle.flow import FlowEstimator

Flows = dict[int, tuple[np.ndarray, np.ndarray]]
"""offset -> (backward, forward) flow between a frame and the one ``offset`` before it."""


class FlowPrefetcher:
    """One worker thread with its own flow estimator (OpenCV's are not shared across threads)."""

    def __init__(self, settings: TemporalSettings, *, with_long_term: bool) -> None:
        self.offsets = sorted({1, *settings.long_term}) if with_long_term else [1]
        self._estimator = FlowEstimator(settings.flow, settings.dis_preset)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vidstyle-flow")

    def __enter__(self) -> FlowPrefetcher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def submit(self, content: np.ndarray, previous: Sequence[np.ndarray]) -> Future[Flows]:
        """Start the flows between ``content`` and ``previous`` (nearest first: offset 1, 2, ...)."""
        return self._executor.submit(self._flows, content, list(previous))

    def _flows(self, content: np.ndarray, previous: list[np.ndarray]) -> Flows:
        flows: Flows = {}
        for offset in self.offsets:
            if offset <= len(previous):
                earlier = previous[offset - 1]
                flows[offset] = (self._estimator(content, earlier), self._estimator(earlier, content))
        return flows

"""CUDA graphs of a repeated step: warm-up and capture on a stream of the step's own.

torch's rules (torch/cuda/graphs.py, ``torch.cuda.graph``): one capture may be underway in
the process at a time; the capture synchronizes the device on entry; warm-up iterations run
on a side stream; and a capture that fails in ``capture_begin`` or ``capture_end`` leaves its
stream current in the capturing thread. Several work units paint in threads and start in
step, so their first captures coincide: one process-wide lock takes them in turn, each on
the stream its step owns, and the thread's stream is put back whatever happens.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import torch

log = logging.getLogger(__name__)

# One capture in the process at a time (torch.cuda.graph's own rule).
_CAPTURE_LOCK = threading.Lock()


class GraphedStep:
    """A step run eagerly on its own side stream ``warmup`` times, then captured once and
    replayed. Where capture fails, the step runs eagerly from then on, for this step alone:
    the other shapes of a render keep their graphs."""

    def __init__(self, step: Callable[[], None], device: torch.device, warmup: int) -> None:
        self.step = step
        self.device = device
        self.warmup = warmup
        self.stream = torch.cuda.Stream(device)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.failed = False
        self._eager = 0

    def __call__(self) -> None:
        if self.graph is not None:
            self.graph.replay()
        elif self.failed:
            self.step()
        elif self._eager < self.warmup:
            self._warm_up()
        else:
            self.graph = capture(self.step, self.device, self.stream)
            if self.graph is None:
                self.failed = True
                self.step()
            else:
                self.graph.replay()  # a capture records the step; it does not run it

    def _warm_up(self) -> None:
        # cuDNN chooses its algorithms and the allocator settles here, away from the stream
        # the capture will record on (torch.cuda.graph asks for a side stream).
        current = torch.cuda.current_stream(self.device)
        self.stream.wait_stream(current)
        with torch.cuda.stream(self.stream):
            self.step()
        current.wait_stream(self.stream)
        self._eager += 1


def capture(step: Callable[[], None], device: torch.device, stream: torch.cuda.Stream) -> torch.cuda.CUDAGraph | None:
    """``step`` captured as a CUDA graph on ``stream``, or None (with a warning) where the
    capture failed; its memory is then released. One capture in the process at a time."""
    with _CAPTURE_LOCK:
        current = torch.cuda.current_stream(device)
        stream.wait_stream(current)
        graph = torch.cuda.CUDAGraph()
        try:
            # thread_local: the flow workers, the saver and callers' threads may touch CUDA
            # while this thread captures. With the default ("global") one of them voided the
            # capture of a 480 px render on an H200, whose iterations then ran eagerly.
            with torch.cuda.graph(graph, stream=stream, capture_error_mode="thread_local"):
                step()  # recorded, not run
        except RuntimeError as exc:
            # Capture refuses anything that waits for the device: run eagerly rather than fail.
            log.warning("CUDA graph capture failed, optimizing this frame size without graphs: %s", exc)
            graph.reset()
            torch.cuda.empty_cache()
            return None
        finally:
            # A failure in capture_begin or capture_end skips torch.cuda.graph's own restore.
            torch.cuda.set_stream(current)
        current.wait_stream(stream)
        return graph

"""Rendering the work units in this process: one after another, or several at once on one
device.

A GPU that renders one frame at a time waits on launches and on the host between its short
steps (on an H200 a step cost 5-6 ms at 256, 480 and 720 px alike, the card 21% busy). Units
(shots, chunks, seams) are independent but for the seams' waits (``work_units.waits_for``),
so several can run at once, each in its own thread, with its own copy of the network and,
on CUDA, its own stream: one unit's kernels fill the gaps another leaves. Each unit renders
exactly as it would alone (the same inputs, read from the same saved frames), so the frames
are the same as one at a time (tests/test_work_units.py).
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import torch

from vidstyle.journal import FrameRecord
from vidstyle.optimize import StepCallback
from vidstyle.prefetch import MotionPrefetcher
from vidstyle.settings import Job
from vidstyle.shot_render import RenderedVisit, SourceFrames, painting_here, render_unit
from vidstyle.stylizer import Stylizer
from vidstyle.work_units import UnitQueue, WorkUnit
from vidstyle.workdir import ResumeState, WorkDir


@dataclass
class UnitsHere:
    """What rendering units here needs from the render: its work folder, its resume state
    (updated as frames land, through ``report``), and the callbacks for each saved visit and
    finished unit (by position)."""

    job: Job
    source: SourceFrames
    work: WorkDir
    state: ResumeState
    report: Callable[[FrameRecord], None]
    finish_unit: Callable[[int], None]
    on_step: StepCallback | None = None


def render_here(units: list[WorkUnit], waits: list[set[int]], stylizer: Stylizer, here: UnitsHere) -> None:
    """Render ``units`` in this process, as many at a time as the stylizer's backend says
    (never more than there are units), each once the units it waits for (``waits``, by
    position) are done."""
    at_once = min(stylizer.backend.units_at_once, len(units))
    with (
        painting_here(here.job, stylizer) as prefetch,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="vidstyle-save") as saver,
    ):
        painting = _Painting(here, units, prefetch, saver, stylizer.device)
        if at_once <= 1:
            for position in range(len(units)):
                painting.render(position, stylizer)
                here.finish_unit(position)
            return
        _side_by_side(painting, UnitQueue(waits), _Painters(stylizer, at_once))


class _Painting:
    """Renders one unit with a given painter, saving its visits in a worker; several units'
    threads may use it at once (the records and the step callback land one at a time)."""

    def __init__(
        self,
        here: UnitsHere,
        units: list[WorkUnit],
        prefetch: MotionPrefetcher,
        saver: ThreadPoolExecutor,
        device: torch.device,
    ) -> None:
        self.here, self.units, self.prefetch, self.saver = here, units, prefetch, saver
        # On an accelerator the next frame's optimization starts while a worker saves this one
        # (PNG, log line) and measures its warping error: the GPU would idle meanwhile. On the CPU
        # that costs a few hundredths of a frame's time, and saving in step keeps progress prompt.
        self.lag = 0 if device.type == "cpu" else 1
        self.landing = threading.Lock()  # the records and the progress callback, one visit at a time
        self.stepping = threading.Lock()  # the step callback (a progress bar), one thread at a time
        self.stopping = threading.Event()  # set when a unit failed: the others end after their frame

    def report(self, record: FrameRecord) -> None:
        with self.landing:
            self.here.report(record)

    def on_step(self, done: int, planned: int, loss: float) -> None:
        if self.here.on_step is not None:
            with self.stepping:
                self.here.on_step(done, planned, loss)

    def render(self, position: int, painter: Stylizer) -> None:
        with self.landing:
            passes_done = self.here.state.passes_done
        saving: deque[Future[FrameRecord]] = deque()
        visits = render_unit(
            self.here.job,
            painter,
            self.here.source,
            self.units[position],
            passes_done=passes_done,
            load_output=self.here.work.load,
            prefetch=self.prefetch,
            on_step=self.on_step if self.here.on_step is not None else None,
        )
        for visit in visits:
            saving.append(self.saver.submit(_save_visit, self.here.work, visit))
            while len(saving) > self.lag:
                self.report(saving.popleft().result())
            if self.stopping.is_set():
                break
        while saving:
            self.report(saving.popleft().result())


class _Painters:
    """One painter a slot: the render's own in the first, a copy of it (its own network) in
    each other, built when that slot is first used, so that a render with fewer units than
    slots builds no copy it would not use."""

    def __init__(self, stylizer: Stylizer, slots: int) -> None:
        self._painters: list[Stylizer | None] = [stylizer, *([None] * (slots - 1))]
        self.free = list(range(slots - 1, -1, -1))  # popped from the end: the first slot first

    def take(self) -> tuple[int, Stylizer]:
        slot = self.free.pop()
        painter = self._painters[slot]
        if painter is None:
            first = self._painters[0]
            assert first is not None
            painter = self._painters[slot] = _another_painter(first)
        return slot, painter

    def give_back(self, slot: int) -> None:
        self.free.append(slot)
        self.free.sort(reverse=True)


def _side_by_side(painting: _Painting, queue: UnitQueue, painters: _Painters) -> None:
    """Units in threads, as many at once as there are painters, each once it is ready."""
    running: dict[Future[None], tuple[int, int]] = {}
    with ThreadPoolExecutor(max_workers=len(painters.free), thread_name_prefix="vidstyle-unit") as pool:
        try:
            while queue or running:
                for position in queue.take_ready(len(painters.free)):
                    slot, painter = painters.take()
                    running[pool.submit(_on_own_stream, painting.render, position, painter)] = (position, slot)
                queue.check_moving(len(running))
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    position, slot = running.pop(future)
                    future.result()
                    painters.give_back(slot)
                    queue.finish(position)
                    painting.here.finish_unit(position)
        except BaseException:
            painting.stopping.set()  # the others end after their current frame, which is saved
            raise


def _another_painter(stylizer: Stylizer) -> Stylizer:
    """A Stylizer of the same job with its own network (each keeps per-frame state), the style
    targets and the --init picture shared."""
    return Stylizer(
        stylizer.style,
        stylizer.losses,
        stylizer.optimizer,
        stylizer.engine,
        content_size=(stylizer.full_size[1], stylizer.full_size[0]),
        style_targets=stylizer.style_targets,
        init_picture=stylizer.init_picture,
        backend=stylizer.backend,
    )


def _on_own_stream(render_one: Callable[[int, Stylizer], None], position: int, painter: Stylizer) -> None:
    with _stream(painter.device):
        render_one(position, painter)


@contextlib.contextmanager
def _stream(device: torch.device) -> Iterator[None]:
    """On CUDA, a stream of this thread's own: on the default stream every unit's kernels
    would queue behind each other's."""
    if device.type != "cuda":
        yield
        return
    with torch.cuda.stream(torch.cuda.Stream(device)):
        yield


def _save_visit(work: WorkDir, visit: RenderedVisit) -> FrameRecord:
    """Measure a finished visit's warping error, then save the frame and its record."""
    record = visit.measured()
    work.save(visit.frame, record)
    return record

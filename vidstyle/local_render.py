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

from vidstyle.config import Job
from vidstyle.journal import FrameRecord
from vidstyle.optimize import StepCallback
from vidstyle.prefetch import MotionPrefetcher
from vidstyle.shot_render import RenderedVisit, SourceFrames, render_unit
from vidstyle.stylizer import Stylizer
from vidstyle.work_units import WorkUnit
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
    """Render ``units`` in this process, as many at a time as the stylizer's backend says,
    each once the units it waits for (``waits``, by position) are done."""
    at_once = stylizer.backend.units_at_once
    # On an accelerator the next frame's optimization starts while a worker saves this one
    # (PNG, log line) and measures its warping error: the GPU would idle meanwhile. On the CPU
    # that costs a few hundredths of a frame's time, and saving in step keeps progress prompt.
    lag = 0 if stylizer.device.type == "cpu" else 1
    landing = threading.Lock()  # the records and the progress callback, one visit at a time
    stopping = threading.Event()

    def report(record: FrameRecord) -> None:
        with landing:
            here.report(record)

    stepping = threading.Lock()  # the step callback (a progress bar), one unit's thread at a time

    def on_step(done: int, planned: int, loss: float) -> None:
        if here.on_step is not None:
            with stepping:
                here.on_step(done, planned, loss)

    with (
        stylizer.backend.running(),
        MotionPrefetcher(here.job.temporal, workers=stylizer.backend.flow_workers) as prefetch,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="vidstyle-save") as saver,
    ):

        def render_one(position: int, painter: Stylizer) -> None:
            with landing:
                passes_done = here.state.passes_done
            saving: deque[Future[FrameRecord]] = deque()
            visits = render_unit(
                here.job,
                painter,
                here.source,
                units[position],
                passes_done=passes_done,
                load_output=here.work.load,
                prefetch=prefetch,
                on_step=on_step if here.on_step is not None else None,
            )
            for visit in visits:
                saving.append(saver.submit(_save_visit, here.work, visit))
                while len(saving) > lag:
                    report(saving.popleft().result())
                if stopping.is_set():
                    break
            while saving:
                report(saving.popleft().result())

        if at_once <= 1:
            for position in range(len(units)):
                render_one(position, stylizer)
                here.finish_unit(position)
            return
        painters = [stylizer, *(_another_painter(stylizer) for _ in range(at_once - 1))]
        free = list(range(at_once))
        running: dict[Future[None], tuple[int, int]] = {}
        waiting = list(range(len(units)))
        finished: set[int] = set()
        with ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="vidstyle-unit") as pool:
            try:
                while waiting or running:
                    for position in [p for p in waiting if waits[p] <= finished][: len(free)]:
                        waiting.remove(position)
                        slot = free.pop()
                        running[pool.submit(_on_own_stream, render_one, position, painters[slot])] = (position, slot)
                    if not running:
                        raise RuntimeError("work units wait on each other")  # they wait on earlier ones only
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        position, slot = running.pop(future)
                        future.result()
                        free.append(slot)
                        finished.add(position)
                        here.finish_unit(position)
            except BaseException:
                stopping.set()  # the others end after their current frame, which is saved
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

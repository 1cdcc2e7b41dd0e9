"""Work units (shots, chunks, seams) rendered in parallel on a Ray cluster (``--ray``).

Each unit is one Ray task running ``shot_render.render_unit``, the code that renders a unit
in the render's own process, so a distributed render equals the sequential one. A unit
starts once the units it waits for are done (``work_units.waits_for``: a seam waits for the
chunks on its sides). The task reads its frames from the source file and streams each
finished visit back as it is made (a Ray generator); the driver writes it to the work
directory, frame by frame.

Retries are the driver's, not Ray's (``max_retries=0``): Ray would replay a generator from
its start, while the driver resubmits a unit whose worker died from its first visit not yet
written, with the outputs that visit needs. Nothing is lost, and nothing is written twice.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vidstyle.backend import choose_backend
from vidstyle.errors import DeviceError, UsageError
from vidstyle.journal import FrameRecord
from vidstyle.settings import INIT_MODES, ClusterSettings, Job
from vidstyle.shot_render import SourceFrames, outputs_needed, painting_here, render_unit
from vidstyle.shots import ShotPlan
from vidstyle.stylizer import Stylizer
from vidstyle.video_io import Segment
from vidstyle.work_units import UnitQueue, WorkUnit, planner_for

log = logging.getLogger(__name__)

# How often a unit is resubmitted after its worker died before the render gives up.
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class TaskRun:
    """Where and when one task ran: for the per-unit log line and the scheduling timeline."""

    unit: str
    attempt: int
    worker: str
    started: float
    ended: float
    visits: int


@dataclass(frozen=True)
class _UnitJob:
    """Everything a task needs to render a unit, sent once with it."""

    job: Job
    path: str
    segment: Segment
    plan: dict[str, Any]
    size: tuple[int, int]
    unit: WorkUnit
    passes_done: dict[int, int]
    outputs: dict[int, np.ndarray]
    threads: int
    init_picture: np.ndarray | None  # the --init image's pixels: a worker need not reach the file


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError("--ray needs Ray: pip install 'vidstyle[ray]'") from None
    return ray


def connect(address: str) -> Any:
    """Start (``local``) or join (``auto``, or an address) a Ray cluster; returns the module."""
    ray = _import_ray()
    if ray.is_initialized():
        return ray
    try:
        if address == "local":
            _quiet_token_notice()
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError) as exc:
        where = "a running cluster (ray start --head, or RAY_ADDRESS)" if address == "auto" else address
        raise UsageError(f"--ray {address}: cannot join {where} ({exc})") from exc
    return ray


def _drop_token_notice(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("Token authentication is enabled for this Ray cluster")


def _quiet_token_notice() -> None:
    """A new local cluster gets token authentication by default, and Ray says so on stderr
    whatever our -q. The cluster is this render's own and ends with it: the line is noise."""
    notices = logging.getLogger("ray._private.authentication.authentication_token_setup")
    if _drop_token_notice not in notices.filters:
        notices.addFilter(_drop_token_notice)


def _render_task(
    unit_job: _UnitJob, style_targets: dict[tuple[int, int], dict[str, torch.Tensor]]
) -> Iterator[tuple[np.ndarray, FrameRecord, str, float, str]]:
    """The Ray task of one unit: each finished visit, with the worker that made it, when the
    task started there, and where and in what it painted (``Stylizer.engine_text``)."""
    started = time.time()
    job = unit_job.job
    if not Path(unit_job.path).is_file():
        raise UsageError(f"{unit_job.path}: not found on node {socket.gethostname()}; every node must reach the source")
    plan = ShotPlan.from_json(unit_job.plan)
    width, height = unit_job.size
    stylizer = Stylizer(
        job.style,
        job.losses,
        job.optimizer,
        job.engine,
        content_size=(width, height),
        style_targets=style_targets,
        init_picture=unit_job.init_picture,
        # The task's own CPUs; units at once are the cluster's business here, one a task.
        backend=choose_backend(replace(job.engine, threads=unit_job.threads), frame_size=(width, height), units=1),
    )
    source = SourceFrames(Path(unit_job.path), unit_job.segment, plan, unit_job.size)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    with painting_here(job, stylizer) as prefetch:
        for visit in render_unit(
            job,
            stylizer,
            source,
            unit_job.unit,
            passes_done=unit_job.passes_done,
            load_output=unit_job.outputs.__getitem__,
            prefetch=prefetch,
        ):
            yield visit.frame, visit.measured(), worker, started, stylizer.engine_text


def render_on_ray(
    cluster: ClusterSettings,
    job: Job,
    stylizer: Stylizer,
    source: SourceFrames,
    units: list[WorkUnit],
    waits: list[set[int]],
    *,
    passes_done: dict[int, int],
    load_output: Callable[[int], np.ndarray],
    on_visit: Callable[[np.ndarray, FrameRecord], None],
    on_unit: Callable[[int], None],
) -> list[TaskRun]:
    """Render ``units`` as Ray tasks, each once the units it waits for (``waits``, by
    position) are done; ``on_visit`` gets each visit as it lands (in the order they land,
    each once), ``on_unit`` each finished unit's position. Returns the task timeline.

    Every worker must paint where and in what ``stylizer`` (this process's, whose choice the
    work folder records) does: a worker that chose otherwise (a GPU worker under a CPU
    driver, say) stops the render with one line, rather than mixing two precisions in one
    video under a record that names one."""
    ray = connect(cluster.address)
    render = _RayRender(ray, cluster, job, stylizer, source, units, passes_done, load_output)
    queue = UnitQueue(waits)
    while queue or render.running:
        if queue.any_ready():  # the cluster may have grown: ask it now
            for position in queue.take_ready(2 * _slots(ray, render.cpus) - len(render.running)):
                render.submit(position, 1)
        queue.check_moving(len(render.running))
        [generator], _ = ray.wait(list(render.running), num_returns=1)
        landed = render.next_visit(generator)
        if landed is _UNIT_DONE:
            position = render.close(generator)
            queue.finish(position)
            on_unit(position)
        elif landed is not None:
            on_visit(*landed)
    return render.timeline


_UNIT_DONE: Any = object()  # a task's generator ended: its unit is done


class _RayRender:
    """The driver's side of a render on Ray: the tasks running, what each has landed, and
    the timeline of the tasks."""

    def __init__(
        self,
        ray: Any,
        cluster: ClusterSettings,
        job: Job,
        stylizer: Stylizer,
        source: SourceFrames,
        units: list[WorkUnit],
        passes_done: dict[int, int],
        load_output: Callable[[int], np.ndarray],
    ) -> None:
        self.ray, self.job, self.stylizer, self.source, self.units = ray, job, stylizer, source, units
        self.load_output = load_output
        # Unless told, a task paints on as many threads as a render here: the same sums, the same frames.
        self.cpus = cluster.task_threads(stylizer.backend.threads)
        gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 and job.engine.device != "cpu" else 0
        self.task = ray.remote(_render_task).options(num_cpus=self.cpus, num_gpus=gpus, max_retries=0)
        self.targets = ray.put(stylizer.style_targets)
        self.init_picture = None if job.init in INIT_MODES else stylizer.read_init_picture(Path(job.init))
        self.plan_json = source.plan.to_json()
        self.done = dict(passes_done)
        self.running: dict[Any, tuple[int, int, float]] = {}  # generator: (position, attempt, submitted)
        self.timeline: list[TaskRun] = []
        self.landed: dict[int, int] = {}
        self.workers: dict[int, str] = {}
        self.began: dict[int, float] = {}  # when each unit's (latest) task started on its worker

    def submit(self, position: int, attempt: int) -> None:
        unit = self.units[position]
        needed = outputs_needed(planner_for(self.job, self.source.plan, unit), self.done)
        unit_job = _UnitJob(
            self.job, str(self.source.path.resolve()), self.source.segment, self.plan_json, self.source.size, unit,
            dict(self.done), {i: self.load_output(i) for i in needed}, self.cpus, self.init_picture,
        )  # fmt: skip
        self.running[self.task.remote(unit_job, self.targets)] = (position, attempt, time.time())
        self.landed[position] = 0

    def next_visit(self, generator: Any) -> tuple[np.ndarray, FrameRecord] | None:
        """The next visit ``generator`` yields, to write (None: already written, or its task
        was resubmitted after its worker died), or ``_UNIT_DONE``."""
        position, attempt, _ = self.running[generator]
        try:
            frame, record, worker, started, engine = self.ray.get(next(generator))
        except StopIteration:
            return _UNIT_DONE  # type: ignore[no-any-return]
        except self.ray.exceptions.RayTaskError as error:
            raise error.as_instanceof_cause() from None
        except self.ray.exceptions.RayError as error:
            self._retry(generator, position, attempt, error)
            return None
        self.began.setdefault(position, started)
        if engine != self.stylizer.engine_text:
            raise DeviceError(
                f"a Ray worker ({worker}) paints on {engine}, and this render on {self.stylizer.engine_text} (chosen "
                "here, and recorded in its work folder); start the render on a machine like the workers, or give "
                "--device and --precision that every worker runs"
            )
        self.workers[position] = worker
        if self.done.get(record.index, 0) >= record.pass_number:
            return None  # already written: never twice
        self.done[record.index] = record.pass_number
        self.landed[position] += 1
        return frame, record

    def close(self, generator: Any) -> int:
        """A task's generator ended: its unit is done. Returns the unit's position."""
        position, attempt, submitted = self.running.pop(generator)
        seconds = time.time() - self.began.get(position, submitted)
        worker, visits = self.workers.get(position, "?"), self.landed[position]
        log.info(
            "%s done on %s: %d visits, %.1f s each", self.units[position].name, worker, visits, seconds / max(1, visits)
        )
        self._add_to_timeline(position, attempt, submitted, self.began.get(position))
        return position

    def _retry(self, generator: Any, position: int, attempt: int, error: BaseException) -> None:
        """A worker died: resubmit its unit from its first visit not yet written."""
        _, _, submitted = self.running.pop(generator)
        self._add_to_timeline(position, attempt, submitted, self.began.pop(position, None))
        name = self.units[position].name
        if attempt >= MAX_ATTEMPTS:
            raise RuntimeError(f"{name} failed {attempt} times on the cluster ({error})") from error
        log.warning("%s: its worker died (%s); retrying from where it stopped", name, type(error).__name__)
        self.submit(position, attempt + 1)

    def _add_to_timeline(self, position: int, attempt: int, submitted: float, started: float | None) -> None:
        worker = self.workers.get(position, "?")
        unit = self.units[position].name
        self.timeline.append(TaskRun(unit, attempt, worker, started or submitted, time.time(), self.landed[position]))


def _slots(ray: Any, cpus_per_task: int) -> int:
    """How many tasks the cluster runs at once."""
    return max(1, int(ray.cluster_resources().get("CPU", 1) // cpus_per_task))

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
from vidstyle.config import INIT_MODES, ClusterSettings, Job
from vidstyle.errors import DeviceError, UsageError
from vidstyle.journal import FrameRecord
from vidstyle.prefetch import MotionPrefetcher
from vidstyle.shot_render import SourceFrames, outputs_needed, render_unit
from vidstyle.shots import ShotPlan
from vidstyle.stylizer import Stylizer
from vidstyle.video_io import Segment
from vidstyle.work_units import WorkUnit, planner_for

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
    with (
        stylizer.backend.running(),
        MotionPrefetcher(job.temporal, workers=stylizer.backend.flow_workers) as prefetch,
    ):
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
    gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 and job.engine.device != "cpu" else 0
    task = ray.remote(_render_task).options(num_cpus=cluster.cpus_per_task, num_gpus=gpus, max_retries=0)
    targets = ray.put(stylizer.style_targets)
    init_picture = None if job.init in INIT_MODES else stylizer.read_init_picture(Path(job.init))
    plan_json = source.plan.to_json()
    done = dict(passes_done)
    waiting = list(range(len(units)))
    finished: set[int] = set()
    running: dict[Any, tuple[int, int, float]] = {}
    timeline: list[TaskRun] = []
    landed: dict[int, int] = {}
    workers: dict[int, str] = {}
    began: dict[int, float] = {}  # when each unit's (latest) task started on its worker

    def close(position: int, attempt: int, submitted: float, started: float | None) -> None:
        """The task of unit ``position`` ended: add it to the timeline."""
        worker = workers.get(position, "?")
        ended = time.time()
        run = TaskRun(units[position].name, attempt, worker, started or submitted, ended, landed[position])
        timeline.append(run)

    def submit(position: int, attempt: int) -> None:
        unit = units[position]
        outputs = {i: load_output(i) for i in outputs_needed(planner_for(job, source.plan, unit), done)}
        unit_job = _UnitJob(
            job, str(source.path.resolve()), source.segment, plan_json, source.size, unit, dict(done), outputs,
            cluster.cpus_per_task, init_picture,
        )  # fmt: skip
        running[task.remote(unit_job, targets)] = (position, attempt, time.time())
        landed[position] = 0

    while waiting or running:
        ready = [position for position in waiting if waits[position] <= finished]
        if ready:  # the cluster may have grown: ask it now
            for position in ready[: max(0, 2 * _slots(ray, cluster) - len(running))]:
                waiting.remove(position)
                submit(position, 1)
        if not running:
            raise RuntimeError("work units wait on each other")  # cannot happen: they wait on earlier ones only
        [generator], _ = ray.wait(list(running), num_returns=1)
        position, attempt, submitted = running[generator]
        name = units[position].name
        try:
            reference = next(generator)
            frame, record, worker, started, engine = ray.get(reference)
            began.setdefault(position, started)
            if engine != stylizer.engine_text:
                raise DeviceError(
                    f"a Ray worker ({worker}) paints on {engine}, and this render on {stylizer.engine_text} (chosen "
                    "here, and recorded in its work folder); start the render on a machine like the workers, or give "
                    "--device and --precision that every worker runs"
                )
        except StopIteration:
            del running[generator]
            finished.add(position)
            seconds = time.time() - began.get(position, submitted)
            log.info(
                "%s done on %s: %d visits, %.1f s each",
                name,
                workers.get(position, "?"),
                landed[position],
                seconds / max(1, landed[position]),
            )
            close(position, attempt, submitted, began.get(position))
            on_unit(position)
            continue
        except ray.exceptions.RayTaskError as error:
            raise error.as_instanceof_cause() from None
        except ray.exceptions.RayError as error:
            del running[generator]
            close(position, attempt, submitted, began.pop(position, None))
            if attempt >= MAX_ATTEMPTS:
                raise RuntimeError(f"{name} failed {attempt} times on the cluster ({error})") from error
            log.warning("%s: its worker died (%s); retrying from where it stopped", name, type(error).__name__)
            submit(position, attempt + 1)
            continue
        workers[position] = worker
        if done.get(record.index, 0) >= record.pass_number:
            continue  # already written: never twice
        done[record.index] = record.pass_number
        landed[position] += 1
        on_visit(frame, record)
    return timeline


def _slots(ray: Any, cluster: ClusterSettings) -> int:
    """How many tasks the cluster runs at once."""
    return max(1, int(ray.cluster_resources().get("CPU", 1) // cluster.cpus_per_task))

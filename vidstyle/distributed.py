"""Shots rendered in parallel on a Ray cluster (``--ray``).

Each shot is one Ray task running ``shot_render.render_shot``, the code that renders a shot
in the render's own process, so a distributed render equals the sequential one. The task
reads its frames from the source file and streams each finished visit back as it is made
(a Ray generator); the driver writes it to the work directory, frame by frame.

Retries are the driver's, not Ray's (``max_retries=0``): Ray would replay a generator from
its start, while the driver resubmits a shot whose worker died from its first visit not yet
written, with the outputs that visit needs. Nothing is lost, and nothing is written twice.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vidstyle.config import ClusterSettings, Job
from vidstyle.device import render_threads
from vidstyle.errors import UsageError
from vidstyle.prefetch import MotionPrefetcher
from vidstyle.shot_render import SourceFrames, outputs_needed, render_shot, shot_planner
from vidstyle.shots import Shot, ShotPlan
from vidstyle.stylizer import Stylizer
from vidstyle.temporal import LoopClosing
from vidstyle.video_io import Segment
from vidstyle.workdir import FrameRecord

log = logging.getLogger(__name__)

# How often a shot is resubmitted after its worker died before the render gives up.
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class TaskRun:
    """Where and when one task ran: for the per-shot log line and the scheduling timeline."""

    shot: int
    attempt: int
    worker: str
    started: float
    ended: float
    visits: int


@dataclass(frozen=True)
class _ShotJob:
    """Everything a task needs to render a shot, sent once with it."""

    job: Job
    path: str
    segment: Segment
    plan: dict[str, Any]
    size: tuple[int, int]
    shot: Shot
    passes_done: dict[int, int]
    outputs: dict[int, np.ndarray]
    closing: LoopClosing | None
    threads: int


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
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError) as exc:
        where = "a running cluster (ray start --head, or RAY_ADDRESS)" if address == "auto" else address
        raise UsageError(f"--ray {address}: cannot join {where} ({exc})") from exc
    return ray


def _render_task(
    shot_job: _ShotJob, style_targets: dict[str, torch.Tensor]
) -> Iterator[tuple[np.ndarray, FrameRecord, str, float]]:
    """The Ray task of one shot: each finished visit, with the worker that made it and when
    the task started there."""
    started = time.time()
    job = shot_job.job
    if not Path(shot_job.path).is_file():
        raise UsageError(f"{shot_job.path}: not found on node {socket.gethostname()}; every node must reach the source")
    plan = ShotPlan.from_json(shot_job.plan)
    width, height = shot_job.size
    stylizer = Stylizer(
        job.style, job.losses, job.optimizer, job.engine, content_size=(width, height), style_targets=style_targets
    )
    source = SourceFrames(Path(shot_job.path), shot_job.segment, plan, shot_job.size)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    with (
        render_threads(stylizer.device, shot_job.threads) as flow_workers,
        MotionPrefetcher(job.temporal, workers=flow_workers) as prefetch,
    ):
        for visit in render_shot(
            job,
            stylizer,
            source,
            shot_job.shot,
            passes_done=shot_job.passes_done,
            load_output=shot_job.outputs.__getitem__,
            closing=shot_job.closing,
            prefetch=prefetch,
        ):
            yield visit.frame, visit.measured(), worker, started


def render_on_ray(
    cluster: ClusterSettings,
    job: Job,
    stylizer: Stylizer,
    source: SourceFrames,
    shots: list[Shot],
    *,
    passes_done: dict[int, int],
    load_output: Callable[[int], np.ndarray],
    closing: LoopClosing | None,
    on_visit: Callable[[np.ndarray, FrameRecord], None],
    on_shot: Callable[[Shot], None],
) -> list[TaskRun]:
    """Render ``shots`` as Ray tasks; ``on_visit`` gets each visit as it lands (in the order
    they land, each once), ``on_shot`` each finished shot. Returns the task timeline."""
    ray = connect(cluster.address)
    gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 and job.engine.device != "cpu" else 0
    task = ray.remote(_render_task).options(num_cpus=cluster.cpus_per_task, num_gpus=gpus, max_retries=0)
    targets = ray.put(stylizer.style_targets)
    plan_json = source.plan.to_json()
    done = dict(passes_done)
    waiting = list(shots)
    finished: set[int] = {s.number for s in source.plan.shots} - {s.number for s in shots}
    running: dict[Any, tuple[Shot, int, float]] = {}
    timeline: list[TaskRun] = []
    landed: dict[int, int] = {}
    workers: dict[int, str] = {}
    began: dict[int, float] = {}  # when each shot's (latest) task started on its worker

    def earlier_shots_read(shot: Shot) -> set[int]:
        """The earlier shots whose outputs ``shot`` reads (across the loop's seam): it waits
        for them, as it would in a sequential render."""
        planner = shot_planner(job, source.plan, shot, closing)
        others = {i for visit in planner.visits() for i in planner.needs(visit) if not shot.start <= i < shot.stop}
        return {source.plan.shot_of(i).number for i in others} - set(range(shot.number, len(source.plan.shots)))

    # Asked once per shot, not at every landed frame: a shot's visits are many.
    waits_for = {shot.number: earlier_shots_read(shot) for shot in shots}

    def close(shot: Shot, attempt: int, submitted: float, started: float | None) -> None:
        """The task of ``shot`` ended: add it to the timeline."""
        worker = workers.get(shot.number, "?")
        ended = time.time()
        timeline.append(TaskRun(shot.number, attempt, worker, started or submitted, ended, landed[shot.number]))

    def submit(shot: Shot, attempt: int) -> None:
        planner = shot_planner(job, source.plan, shot, closing)
        outputs = {i: load_output(i) for i in outputs_needed(planner, done)}
        shot_job = _ShotJob(
            job, str(source.path), source.segment, plan_json, source.size, shot, dict(done), outputs,
            closing, cluster.cpus_per_task,
        )  # fmt: skip
        running[task.remote(shot_job, targets)] = (shot, attempt, time.time())
        landed[shot.number] = 0

    while waiting or running:
        ready = [shot for shot in waiting if waits_for[shot.number] <= finished]
        if ready:  # the cluster may have grown: ask it now
            for shot in ready[: max(0, 2 * _slots(ray, cluster) - len(running))]:
                waiting.remove(shot)
                submit(shot, 1)
        if not running:
            raise RuntimeError("shots wait on each other")  # cannot happen: the seam's shot has no wait
        [generator], _ = ray.wait(list(running), num_returns=1)
        shot, attempt, submitted = running[generator]
        try:
            reference = next(generator)
            frame, record, worker, started = ray.get(reference)
            began.setdefault(shot.number, started)
        except StopIteration:
            del running[generator]
            finished.add(shot.number)
            seconds = time.time() - began.get(shot.number, submitted)
            log.info(
                "shot %d done on %s: %d visits, %.1f s each",
                shot.number + 1,
                workers.get(shot.number, "?"),
                landed[shot.number],
                seconds / max(1, landed[shot.number]),
            )
            close(shot, attempt, submitted, began.get(shot.number))
            on_shot(shot)
            continue
        except ray.exceptions.RayTaskError as error:
            raise error.as_instanceof_cause() from None
        except ray.exceptions.RayError as error:
            del running[generator]
            close(shot, attempt, submitted, began.pop(shot.number, None))
            if attempt >= MAX_ATTEMPTS:
                raise RuntimeError(f"shot {shot.number + 1} failed {attempt} times on the cluster ({error})") from error
            log.warning(
                "shot %d: its worker died (%s); retrying from where it stopped", shot.number + 1, type(error).__name__
            )
            submit(shot, attempt + 1)
            continue
        workers[shot.number] = worker
        if done.get(record.index, 0) >= record.pass_number:
            continue  # already written: never twice
        done[record.index] = record.pass_number
        landed[shot.number] += 1
        on_visit(frame, record)
    return timeline


def _slots(ray: Any, cluster: ClusterSettings) -> int:
    """How many tasks the cluster runs at once."""
    return max(1, int(ray.cluster_resources().get("CPU", 1) // cluster.cpus_per_task))

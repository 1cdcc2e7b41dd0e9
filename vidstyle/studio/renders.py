"""The studio's renders: queued, run one at a time, each as the command line runs it.

Each render is ``python -m vidstyle ARGUMENTS`` in a process of its own, in the studio's
folder: the same work folder beside the output as the command line's, so either resumes what
the other stopped. Stopping sends it Ctrl-C (SIGINT), on which the command line stops cleanly
and keeps its finished frames. One runs at a time: two renders side by side on a CPU each take
about twice as long, and the first to be started would finish later. Where each render stands
is read from its work folder (``render_status``); the list is kept in the studio's folder, so
that a studio started again lists them, stopped, to resume.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vidstyle.errors import OutputExistsError, UsageError
from vidstyle.outputs import write_bytes_atomically
from vidstyle.render_status import render_status
from vidstyle.studio.folder import StudioFolder
from vidstyle.studio.render_request import RenderRequest
from vidstyle.workdir import work_dir_for

QUEUED, RUNNING, STOPPING, STOPPED, FINISHED, FAILED = "queued", "running", "stopping", "stopped", "finished", "failed"
_LIST_NAME = "renders.json"
# The command line's exit code after Ctrl-C (its render kept, to resume).
_INTERRUPTED = 130
# What a preview prints of the full render's time, shown beside the preview.
_ESTIMATE_STARTS = ("full render estimate:", "the clip is no longer than this preview")


@dataclass
class Render:
    id: str
    request: RenderRequest
    state: str = QUEUED
    message: str = ""  # why it failed, in the command line's words
    estimate: str = ""  # a preview's estimate of the full render

    def to_json(self, folder: StudioFolder) -> dict[str, Any]:
        """What the page shows of it: the request, its state, and its work folder's status."""
        status = render_status(self.request.output)
        return {
            "id": self.id,
            "clip": self.request.clip,
            "styles": list(self.request.styles),
            "preview": self.request.preview,
            "state": self.state,
            "message": self.message,
            "estimate": self.estimate,
            "command": self.request.command,
            "output": folder.name_of(self.request.output),
            "finished": self.state == FINISHED and self.request.output.is_file(),
            "status": None if status is None else {**asdict(status), "share_done": status.share_done},
        }


@dataclass
class RenderQueue:
    folder: StudioFolder
    # How a render is started: this Python's vidstyle, so that the studio's and its renders' match.
    program: tuple[str, ...] = (sys.executable, "-m", "vidstyle")
    renders: dict[str, Render] = field(default_factory=dict)
    _lock: threading.Condition = field(default_factory=threading.Condition)
    _process: subprocess.Popen[bytes] | None = None
    _current: Render | None = None
    _closing: bool = False
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """List the renders an earlier studio left (stopped: a running one was stopped with
        it), and start running the queue."""
        self.renders = {render.id: render for render in _load(self.folder)}
        for render in self.renders.values():
            if render.state in (QUEUED, RUNNING, STOPPING):
                render.state = STOPPED
        self._thread = threading.Thread(target=self._run, name="vidstyle-studio-renders", daemon=True)
        self._thread.start()

    def add(self, request: RenderRequest) -> Render:
        """Queue ``request``; a second render of one output, or an output that exists, is refused."""
        with self._lock:
            if request.output.exists():
                raise OutputExistsError(
                    f"{self.folder.name_of(request.output)} exists; the studio does not replace a file. "
                    "Move it away to render again"
                )
            for other in self.renders.values():
                if other.request.output == request.output and other.state not in (FAILED, FINISHED):
                    advice = "resume it" if other.state == STOPPED else "it is on its way"
                    raise UsageError(
                        f"{self.folder.name_of(request.output)} is already in the list ({other.state}): {advice}"
                    )
            render = Render(id=uuid.uuid4().hex[:12], request=request)
            self.renders[render.id] = render
            self._changed()
        return render

    def stop(self, render_id: str) -> None:
        """Stop a render: a running one as Ctrl-C stops the command line (frames kept)."""
        with self._lock:
            render = self._get(render_id)
            if render is self._current and self._process is not None and render.state == RUNNING:
                render.state = STOPPING
                self._process.send_signal(signal.SIGINT)
            elif render.state == QUEUED:
                render.state = STOPPED
            self._changed()

    def resume(self, render_id: str) -> None:
        """Queue a stopped or failed render again: it goes on from its work folder."""
        with self._lock:
            render = self._get(render_id)
            if render.state in (STOPPED, FAILED):
                render.state, render.message = QUEUED, ""
                self._changed()

    def close(self, timeout: float = 120.0) -> list[Render]:
        """Stop the queue and the render running (cleanly, resumable); the renders it stopped."""
        with self._lock:
            self._closing = True
            stopped = [render for render in self.renders.values() if render.state in (QUEUED, RUNNING, STOPPING)]
            if self._process is not None and self._process.poll() is None:
                self._process.send_signal(signal.SIGINT)
            process = self._process
            self._lock.notify_all()
        if process is not None:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()  # the work folder survives a kill too (frames land whole)
                process.wait()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            for render in stopped:
                render.state = STOPPED
            if stopped:  # a studio that ran nothing leaves nothing in its folder
                self._changed()
        return stopped

    def listing(self) -> list[dict[str, Any]]:
        with self._lock:
            renders = list(self.renders.values())
            # A stopped render the command line went on with and finished: its output written,
            # its work folder tidied away.
            done = [r for r in renders if r.state == STOPPED and r.request.output.is_file()]
            done = [r for r in done if not work_dir_for(r.request.output).exists()]
            for render in done:
                render.state = FINISHED
            if done:
                self._changed()
        return [render.to_json(self.folder) for render in reversed(renders)]

    def _get(self, render_id: str) -> Render:
        if render_id not in self.renders:
            raise UsageError(f"no render {render_id!r} in the list")
        return self.renders[render_id]

    def _changed(self) -> None:
        """Keep the list on disk and wake the runner (the caller holds the lock)."""
        self.folder.state.mkdir(exist_ok=True)
        data = [{**asdict(render.request), "id": render.id, "state": render.state, "message": render.message,
                 "estimate": render.estimate} for render in self.renders.values()]  # fmt: skip
        write_bytes_atomically(self.folder.state / _LIST_NAME, json.dumps(data, indent=1, default=str).encode())
        self._lock.notify_all()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._closing and not any(r.state == QUEUED for r in self.renders.values()):
                    self._lock.wait()
                if self._closing:
                    return
                render = next(r for r in self.renders.values() if r.state == QUEUED)
                log_path = self.folder.state / "logs" / f"{render.id}.log"
                try:
                    self._process = self._start(render, log_path)
                except OSError as error:  # a full disk, a missing Python: this render fails, the queue goes on
                    render.state, render.message = FAILED, f"the render could not start: {error}"
                    self._changed()
                    continue
                self._current, render.state = render, RUNNING
                self._changed()
            code = self._process.wait()
            with self._lock:
                self._finish(render, code, log_path)
                self._current = self._process = None
                self._changed()

    def _start(self, render: Render, log_path: Path) -> subprocess.Popen[bytes]:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log_file:
            return subprocess.Popen(
                [*self.program, *render.request.arguments],
                cwd=self.folder.root,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                # Ctrl-C in the studio's terminal reaches the studio only: it stops its renders
                # itself, and waits for each to keep its frames.
                start_new_session=True,
            )

    def _finish(self, render: Render, code: int, log_path: Path) -> None:
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
        lines = [line.strip() for line in text.replace("\r", "\n").splitlines()]
        lines = [line for line in lines if line]
        render.estimate = next((line for line in lines if line.startswith(_ESTIMATE_STARTS)), "")
        if code == 0:
            render.state = FINISHED
        elif code == _INTERRUPTED or render.state == STOPPING or self._closing:
            render.state = STOPPED
        else:
            render.state = FAILED
            errors = [line for line in lines if ": error:" in line or "internal error" in line]
            render.message = (errors or lines or [f"the render stopped with exit code {code}"])[-1]


def _load(folder: StudioFolder) -> list[Render]:
    path = folder.state / _LIST_NAME
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    renders = []
    for item in data if isinstance(data, list) else []:
        try:
            request = RenderRequest(
                clip=item["clip"],
                styles=tuple(item["styles"]),
                arguments=tuple(item["arguments"]),
                output=Path(item["output"]),
                preview=bool(item["preview"]),
            )
            renders.append(Render(item["id"], request, item["state"], item["message"], item["estimate"]))
        except (KeyError, TypeError):
            continue  # a list a later studio wrote, or a damaged one: its renders still resume from the CLI
    return renders

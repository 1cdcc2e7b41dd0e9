"""The work directory of a video render: stylized frames saved losslessly, for resuming.

Layout, beside the output (``clip.starry_night.mp4.vidstyle-work/``):

- ``manifest.json``: everything that shapes the painted frames (source, styles, settings,
  size; ``manifest.py``), and the setup it ran on (machine, threads, library versions: a
  resume elsewhere says so);
- ``delivered.json``: the size the detail pass refines at, which a resume keeps where it
  still fits (it shapes the delivered frames only);
- ``shots.json``: the shot plan (every frame's timing, the shots), made once;
- ``frames/000000.png`` ...: each stylized frame, written atomically (a later pass of the
  multi-pass algorithm replaces it);
- ``frames.jsonl``: one line per finished visit of a frame (pass, iterations, losses,
  timing), appended and fsynced after its PNG, so a line always has its frame;
- ``shots.jsonl``: one line per finished shot;
- ``details/000000.png`` and ``details.jsonl``: each frame as delivered, where a detail pass
  refines the painted frames at a larger size (``detail_pass.py``), and one line for each;
- ``lock``: locked while a process renders into the folder, so that a second run of the
  same command stops with a clear line instead of rendering the same frames beside it.

A render resumes at the first visit without both, in the first unfinished shot; a manifest
that differs from the current settings stops the render rather than mixing two looks in one
video. ``WorkDir`` holds the folder's parts, each with a job of its own: the manifest (here and
``manifest.py``), the frames (``frame_store.FrameStore``), the journal (``journal.Journal``) and the lock
(``FolderLock``); ``ResumeState`` is what a render reads of them to go on.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from vidstyle.errors import OutputPathError, ResumeMismatchError
from vidstyle.frame_store import DETAILS_DIR, FRAMES_DIR, FrameStore
from vidstyle.journal import DetailRecord, FrameRecord, Journal
from vidstyle.kill_points import kill_point
from vidstyle.manifest import changed_settings, painting_part
from vidstyle.outputs import remove_stale_partials, write_bytes_atomically

if sys.platform != "win32":
    import fcntl

MANIFEST_NAME = "manifest.json"
# The size the delivered frames (details/) were refined at: theirs alone, not the painting's.
DELIVERED_NAME = "delivered.json"
SETUP_KEY = "setup"  # in the manifest: what the render ran on, which a resume may change
SHOT_PLAN_NAME = "shots.json"
LOCK_NAME = "lock"

log = logging.getLogger(__name__)


# The stage a frame delivered again by the loop's seam is written at (FrameStore.stage).
LOOP_STAGE = 2


def work_dir_for(output: Path) -> Path:
    return output.with_name(output.name + ".vidstyle-work")


def saved_setting(path: Path, keys: tuple[str, ...]) -> Any:
    """A value from the manifest of the work directory at ``path`` (None: no such manifest
    or value), for a setting that a resumed render keeps unless told otherwise."""
    try:
        value: Any = json.loads((path / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


class WorkDir:
    """Saved frames of one render, checked against the manifest of its settings."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.frames = FrameStore(path / FRAMES_DIR)
        self.details = FrameStore(path / DETAILS_DIR)
        self.journal = Journal(path)
        self.lock = FolderLock(path / LOCK_NAME)
        self.created = False  # by this run's open()

    @classmethod
    def open(
        cls, path: Path, manifest: dict[str, Any], *, setup: dict[str, Any] | None = None, restart: bool = False
    ) -> WorkDir:
        """Create the work dir, or reuse one whose manifest matches (``restart`` discards it).

        ``setup``: what the render runs on (machine, threads, library versions). A resume on
        another setup goes on, and says that its frames may differ in their last bits from an
        uninterrupted render's.
        """
        work = cls(path)
        setup = json.loads(json.dumps(setup or {}))
        manifest = json.loads(json.dumps({**manifest, SETUP_KEY: setup}))  # the JSON form, as compared later
        ours = not path.exists() or (path / MANIFEST_NAME).exists()
        if restart and not ours and any(entry.name != LOCK_NAME for entry in path.iterdir()):
            raise OutputPathError(f"{path} is not a vidstyle work folder (no {MANIFEST_NAME}); not deleting it")
        _make_folder(path, path)
        work.lock.take()
        if restart:
            work._clear()
        if (path / MANIFEST_NAME).exists():
            saved = json.loads((path / MANIFEST_NAME).read_text())
            saved_setup = saved.pop(SETUP_KEY, {})
            wanted = {key: value for key, value in manifest.items() if key != SETUP_KEY}
            if painting_part(saved) != painting_part(wanted):
                raise ResumeMismatchError(work._mismatch_message(saved, wanted))
            if "delivered" in saved and not (path / DELIVERED_NAME).exists():  # recorded as before 0.7.0
                work.record_delivered_size(tuple(saved["delivered"]))
            moved = sorted(key for key in saved_setup.keys() | setup.keys() if saved_setup.get(key) != setup.get(key))
            if moved:
                changes = ", ".join(f"{key} {saved_setup.get(key)} -> {setup.get(key)}" for key in moved)
                log.warning(
                    "resuming on another setup (%s): the frames from here may differ slightly from an "
                    "uninterrupted render's",
                    changes,
                )
            # Writes a killed run did not finish: not records.
            for folder in (path, work.frames.folder, work.details.folder):
                remove_stale_partials(folder)
            return work
        _make_folder(work.frames.folder, path)
        _make_folder(work.details.folder, path)
        write_bytes_atomically(path / MANIFEST_NAME, json.dumps(manifest, indent=2, sort_keys=True).encode())
        work.created = True
        return work

    @contextlib.contextmanager
    def removed_on_error(self) -> Iterator[None]:
        """Remove the work dir when an error ends a run that created it before any frame was
        saved (no frames after --start, a full disk): a failed start leaves nothing beside the
        user's files. An interruption keeps it, as its message says."""
        try:
            yield
        except Exception:
            if self.created and not self.journal.visits():
                self.remove()
            raise

    def _mismatch_message(self, saved: dict[str, Any], wanted: dict[str, Any]) -> str:
        count = len(self.journal.latest())
        return (
            f"{self.path} holds {count} frame(s) rendered with other settings ({changed_settings(saved, wanted)}); "
            "rerun with the same settings to resume, or add --restart to discard them"
        )

    def check_space(
        self, frames: int, width: int, height: int, *, delivered: tuple[int, int, int] | None = None
    ) -> None:
        """Refuse to start when the disk cannot hold ``frames`` more painted frames at
        ``width`` x ``height`` and, with a detail pass, ``delivered`` (count, width, height)
        more delivered ones, naming what shrinks it. A stylized frame's PNG is taken at its raw
        size, 3 bytes a pixel: brush strokes barely compress (stylized frames of the sample
        clips measure 0.76-0.81 of it), so this errs on the safe side."""
        needed = frames * width * height * 3
        what = f"{frames} frames at {width}x{height}"
        smaller = "or a smaller --size"
        if delivered is not None:
            count, big_width, big_height = delivered
            needed += count * big_width * big_height * 3
            what += f" and {count} delivered at {big_width}x{big_height}"
            smaller = "or leave out the detail pass (--detail off; --size does not change the delivered size)"
        free = shutil.disk_usage(self.path).free
        if needed > free:
            raise OutputPathError(
                f"the work folder {self.path} needs about {_size_text(needed)} for {what}, and its disk has "
                f"{_size_text(free)} free; free some space, render a part (--start/--duration), {smaller}"
            )

    def save(self, frame: np.ndarray, record: FrameRecord) -> None:
        """Store a finished visit of a frame: the PNG first, then its journal line. A frame
        that has a PNG already (a later pass, a seam, the loop re-visit it) is staged beside
        it and put in place after the line: the visit and its line are one step, and a kill
        between them leaves the earlier frame, which the visit starts from again."""
        index = record.index
        if not self.frames.path(index).exists():
            self.frames.save(index, frame)
            kill_point(f"saving:{index}")
            self.journal.add_visit(record)
            return
        self.frames.stage(index, record.pass_number, frame)
        kill_point(f"saving:{index}:pass{record.pass_number}")
        self.journal.add_visit(record)
        self.frames.settle(index, record.pass_number)

    def _settle_staged(self, records: dict[int, FrameRecord]) -> None:
        """A later visit's staged frame goes in place where its line is down (``FrameStore.settle_staged``)."""

        def line_is_down(index: int, pass_number: int) -> bool:
            record = records.get(index)
            return record is not None and record.pass_number >= pass_number

        self.frames.settle_staged(line_is_down)

    def load(self, index: int) -> np.ndarray:
        return self.frames.load(index)

    def save_detail(self, frame: np.ndarray, record: DetailRecord) -> None:
        """Store a delivered frame of the detail pass: the PNG first, then its journal line. A
        frame delivered again (the loop's seam) is staged and put in place after its line, as
        ``save`` does with a later visit: the frame it starts from stays until then."""
        self.details.folder.mkdir(exist_ok=True)  # a folder made before the detail pass had one
        if not record.loop:
            self.details.save(record.index, frame)
            kill_point(f"detailing:{record.index}")
            self.journal.add_detail(record)
            return
        self.details.stage(record.index, LOOP_STAGE, frame)
        kill_point(f"detailing:{record.index}:loop")
        self.journal.add_detail(record)
        self.details.settle(record.index, LOOP_STAGE)

    def delivered_size(self) -> tuple[int, int] | None:
        """The size the delivered frames in ``details/`` were refined at (None: none yet)."""
        path = self.path / DELIVERED_NAME
        if not path.exists():
            return None
        width, height = json.loads(path.read_text())["size"]
        return int(width), int(height)

    def record_delivered_size(self, size: tuple[int, int]) -> bool:
        """The detail pass refines at ``size`` from now on: delivered frames refined at another
        size are forgotten (the painting is kept). Whether any were."""
        before = self.delivered_size()
        if before == tuple(size):
            return False
        self.journal.forget_details()
        write_bytes_atomically(self.path / DELIVERED_NAME, json.dumps({"size": list(size)}).encode())
        return before is not None

    def settle_staged_details(self, records: dict[int, DetailRecord]) -> None:
        """A frame delivered again by the loop's seam goes in place where its line is down
        (``FrameStore.settle_staged``)."""

        def line_is_down(index: int, stage: int) -> bool:
            record = records.get(index)
            return record is not None and record.loop and stage == LOOP_STAGE

        self.details.settle_staged(line_is_down)

    def records(self) -> dict[int, FrameRecord]:
        """The latest record of each frame, by index."""
        return self.journal.latest()

    def load_shot_plan(self) -> dict[str, Any] | None:
        path = self.path / SHOT_PLAN_NAME
        return json.loads(path.read_text()) if path.exists() else None

    def save_shot_plan(self, plan: dict[str, Any]) -> None:
        write_bytes_atomically(self.path / SHOT_PLAN_NAME, json.dumps(plan).encode())

    def resume_state(self, shots: Sequence[range], passes: int) -> ResumeState:
        """What is done and what is left, after forgetting what a damaged folder no longer
        holds, so that it renders again (``shots``: each shot's frames, by shot number).

        In an unfinished shot, a frame whose PNG a crash left missing or cut short is not done:
        it, and what follows it in the shot, render again. In a finished shot, a frame missing or cut
        short (a disk error, a copy that stopped) makes the whole shot render again: its
        frames came from one another (and, with several passes or a loop, from earlier visits
        that were replaced), so only a whole shot is sure to come out as it was. Finished
        frames are checked by the PNG's last chunk, not decoded: a resume of a long render
        (or of a long unfinished shot) starts at once.
        """
        records, finished = self.journal.latest(), self.journal.finished_shots()
        self._settle_staged(records)
        for number, frames in enumerate(shots):
            if number not in finished:
                for index in frames:
                    if index in records and not self.frames.is_whole(index):
                        log.warning("frame %d of the work folder is unreadable; rendering it again", index)
                        del records[index]
                continue
            damaged = [index for index in frames if not self.frames.is_whole(index)]
            if damaged:
                log.warning(
                    "frame %d of the work folder is missing or damaged%s; rendering its shot (frames %d-%d) again",
                    damaged[0], f" (and {len(damaged) - 1} more)" if len(damaged) > 1 else "", frames[0], frames[-1],
                )  # fmt: skip
                for index in frames:
                    records.pop(index, None)
                del finished[number]
        return ResumeState(records=records, finished=set(finished), passes=passes, frame_count=sum(map(len, shots)))

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def _clear(self) -> None:
        """Remove everything in the work dir but its lock."""
        for entry in self.path.iterdir():
            if entry.name == LOCK_NAME:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


class FolderLock:
    """Locks the work folder against other processes while this one renders into it. Without
    it a second run of the same command rendered the same frames beside the first, and
    crashed when the first finished and removed the folder. A POSIX record lock (lockf)
    belongs to the process: the system drops it however the process ends, and a later render
    in the same process (a resume after Ctrl-C in a notebook) takes it again; it also ends
    when any of the process's handles on the file closes, which only two renders of one
    output in one process would meet. Windows goes without."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def take(self) -> None:
        if sys.platform == "win32":
            return
        lock_file = open(self.path, "a")  # noqa: SIM115 - held open for the lock's life
        try:
            fcntl.lockf(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock_file.close()
            raise OutputPathError(
                f"another vidstyle run is rendering into {self.path.parent}; let it finish, or stop it and run "
                "this again"
            ) from None
        self._file = lock_file


@dataclass
class ResumeState:
    """What a render has done and has left: the latest record of each frame (updated as
    visits land) and the shots finished. When the run starts, ``done_before`` visits are
    done and ``resume_from`` is the first frame with a visit to go (``frame_count``: none),
    both counted after a damaged folder's repair (``WorkDir.resume_state``)."""

    records: dict[int, FrameRecord]
    finished: set[int]
    passes: int
    frame_count: int

    def __post_init__(self) -> None:
        self.done_before = sum(record.pass_number for record in self.records.values())
        unfinished = (i for i in range(self.frame_count) if self.passes_done.get(i, 0) < self.passes)
        self.resume_from = min(unfinished, default=self.frame_count)

    @property
    def passes_done(self) -> dict[int, int]:
        """Passes finished, by frame."""
        return {index: record.pass_number for index, record in self.records.items()}

    def landed(self, record: FrameRecord) -> None:
        self.records[record.index] = record


def _make_folder(folder: Path, work: Path) -> None:
    """Make ``folder`` (of the work dir ``work``), or say in one line why it cannot be made."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"cannot create the work folder {work} ({exc.strerror or exc})") from exc


def _size_text(count: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count / 1e3:.0f} kB"

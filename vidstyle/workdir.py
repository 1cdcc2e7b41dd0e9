"""The work directory of a video render: stylized frames saved losslessly, for resuming.

Layout, beside the output (``clip.starry_night.mp4.vidstyle-work/``):

- ``manifest.json``: everything that shapes the frames (source, styles, settings, size), and
  the setup it ran on (machine, threads, library versions: a resume elsewhere says so);
- ``shots.json``: the shot plan (every frame's timing, the shots), made once;
- ``frames/000000.png`` ...: each stylized frame, written atomically (a later pass of the
  multi-pass algorithm replaces it);
- ``frames.jsonl``: one line per finished visit of a frame (pass, iterations, losses,
  timing), appended and fsynced after its PNG, so a line always has its frame;
- ``shots.jsonl``: one line per finished shot;
- ``lock``: locked while a process renders into the folder, so that a second run of the
  same command stops with a clear line instead of rendering the same frames beside it.

A render resumes at the first visit without both, in the first unfinished shot; a manifest
that differs from the current settings stops the render rather than mixing two looks in one
video.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from vidstyle.config import option_of_field
from vidstyle.errors import OutputPathError, ResumeMismatchError
from vidstyle.imageops import encode_image
from vidstyle.kill_points import kill_point
from vidstyle.outputs import remove_stale_partials, write_bytes_atomically

if sys.platform != "win32":
    import fcntl

MANIFEST_NAME = "manifest.json"
SETUP_KEY = "setup"  # in the manifest: what the render ran on, which a resume may change
SHOT_PLAN_NAME = "shots.json"
LOG_NAME = "frames.jsonl"
SHOT_LOG_NAME = "shots.jsonl"
FRAMES_DIR = "frames"
LOCK_NAME = "lock"
# A PNG's last chunk: an empty IEND with its CRC.
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrameRecord:
    """What rendering one frame did."""

    index: int
    shot: int
    pass_number: int
    fresh: bool  # started without a neighbour: a shot's first frame, or a flash
    iterations: int
    seconds: float
    total_loss: float
    content_loss: float
    style_loss: float
    temporal_loss: float
    coverage: float | None
    warping_error: float | None
    # Network evaluations counted at full size (one at half size counts a quarter); None in
    # records written before it was kept.
    evaluations: float | None = None


def work_dir_for(output: Path) -> Path:
    return output.with_name(output.name + ".vidstyle-work")


# Bumped by every change that makes a render paint other frames from the same settings and
# files; a work folder of another format is not resumed (mixing two looks in one video). A new
# vidstyle version that paints the same resumes, with the setup's warning.
FRAME_FORMAT = 1
# A video is fingerprinted by its size and this many blocks spread over it: a replaced or
# re-encoded file differs in them, and a 4 GB clip is read in milliseconds, not a minute.
_SAMPLED_BLOCKS, _BLOCK_BYTES = 64, 64 * 1024


def content_fingerprint(path: Path, *, whole: bool = False) -> dict[str, Any]:
    """The size and a SHA-256 of a file's content (``whole``) or of blocks spread over it: the
    same for the file moved, copied or touched, and different for another file. Its path and
    time were used before, and a moved clip or a copied work folder could not resume."""
    size = path.stat().st_size
    digest = hashlib.sha256()
    with path.open("rb") as file:
        if whole or size <= _SAMPLED_BLOCKS * _BLOCK_BYTES:
            digest.update(file.read())
        else:
            for block in range(_SAMPLED_BLOCKS):
                file.seek(block * (size - _BLOCK_BYTES) // (_SAMPLED_BLOCKS - 1))
                digest.update(file.read(_BLOCK_BYTES))
    return {"bytes": size, "sha256": digest.hexdigest()}


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


_MANIFEST_PARTS = {
    "frame_format": "the frame format (this vidstyle paints differently)",
    "vidstyle": "the vidstyle version",
    "source": "the source video",
    "segment": "--start/--duration/--frames",
    "size": "the frame size",
    "device": "--device",
    "precision": "--precision",
    "reading": "how the source's frames are read",
}


def _setting_name(key: str) -> tuple[str, bool]:
    """A manifest key as the user knows it (``job.losses.style`` -> ``--style-weight``), and
    whether its values mean something to them (a file's size and time do not)."""
    parts = key.split(".")
    if parts[0] == "job" and len(parts) > 1:
        if parts[1] == "style" and parts[2:3] == ["paths"]:
            return "the style image", False
        option = option_of_field(*parts[1:3]) if len(parts) > 2 else option_of_field("job", parts[1])
        return (option, True) if option else (key, True)
    name = _MANIFEST_PARTS.get(parts[0], key)
    return name, parts[0] not in ("source", "vidstyle", "frame_format")


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value}


class WorkDir:
    """Saved frames of one render, checked against the manifest of its settings."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.frames_dir = path / FRAMES_DIR
        self.created = False  # by this run's open()
        self._lock_file: IO[str] | None = None

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
        work._lock()
        if restart:
            work._clear()
        if (path / MANIFEST_NAME).exists():
            saved = json.loads((path / MANIFEST_NAME).read_text())
            saved_setup = saved.pop(SETUP_KEY, {})
            wanted = {key: value for key, value in manifest.items() if key != SETUP_KEY}
            if saved != wanted:
                raise ResumeMismatchError(work._mismatch_message(saved, wanted))
            moved = sorted(key for key in saved_setup.keys() | setup.keys() if saved_setup.get(key) != setup.get(key))
            if moved:
                changes = ", ".join(f"{key} {saved_setup.get(key)} -> {setup.get(key)}" for key in moved)
                log.warning(
                    "resuming on another setup (%s): the frames from here may differ slightly from an "
                    "uninterrupted render's",
                    changes,
                )
            for folder in (path, work.frames_dir):  # writes a killed run did not finish: not records
                remove_stale_partials(folder)
            return work
        _make_folder(work.frames_dir, path)
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
            if self.created and not self.records():
                self.remove()
            raise

    def _mismatch_message(self, saved: dict[str, Any], wanted: dict[str, Any]) -> str:
        old, new = _flatten(saved), _flatten(wanted)
        changed: dict[str, str] = {}  # what the user would call each changed setting -> how it changed
        for key in sorted(old.keys() | new.keys()):
            if old.get(key) != new.get(key):
                name, is_option = _setting_name(key)
                changed.setdefault(name, f"{name}: {old.get(key)} -> {new.get(key)}" if is_option else name)
        shown = ", ".join(list(changed.values())[:3])
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        count = len(self.records())
        return (
            f"{self.path} holds {count} frame(s) rendered with other settings ({shown}{more}); "
            "rerun with the same settings to resume, or add --restart to discard them"
        )

    def check_space(self, frames: int, width: int, height: int) -> None:
        """Refuse to start when the disk cannot hold ``frames`` more frames. A stylized frame's
        PNG is taken at its raw size, 3 bytes a pixel: brush strokes barely compress (stylized
        frames of the sample clips measure 0.76-0.81 of it), so this errs on the safe side."""
        needed = frames * width * height * 3
        free = shutil.disk_usage(self.path).free
        if needed > free:
            raise OutputPathError(
                f"the work folder {self.path} needs about {_size_text(needed)} for {frames} frames at "
                f"{width}x{height}, and its disk has {_size_text(free)} free; free some space, render a part "
                "(--start/--duration), or a smaller --size"
            )

    def frame_path(self, index: int) -> Path:
        return self.frames_dir / f"{index:06d}.png"

    def save(self, frame: np.ndarray, record: FrameRecord) -> None:
        """Store a finished frame: the PNG first, then its log line."""
        write_bytes_atomically(self.frame_path(record.index), encode_image(frame, ".png"))
        kill_point(f"saving:{record.index}")
        _append_line(self.path / LOG_NAME, asdict(record))

    def load(self, index: int) -> np.ndarray:
        frame = self.load_if_readable(index)
        if frame is None:
            raise OutputPathError(f"{self.frame_path(index)}: saved frame is unreadable; add --restart")
        return frame

    def frame_is_whole(self, index: int) -> bool:
        """Whether a frame's PNG is there and ends with its last chunk (IEND), without decoding
        it: what a write cut short (a crash, a full disk, a copy that stopped) lacks."""
        try:
            with self.frame_path(index).open("rb") as png:
                png.seek(-len(_PNG_END), os.SEEK_END)
                return png.read() == _PNG_END
        except OSError:
            return False

    def load_if_readable(self, index: int) -> np.ndarray | None:
        bgr = cv2.imread(str(self.frame_path(index)), cv2.IMREAD_COLOR)
        return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def load_shot_plan(self) -> dict[str, Any] | None:
        path = self.path / SHOT_PLAN_NAME
        return json.loads(path.read_text()) if path.exists() else None

    def save_shot_plan(self, plan: dict[str, Any]) -> None:
        write_bytes_atomically(self.path / SHOT_PLAN_NAME, json.dumps(plan).encode())

    def finished_shots(self) -> dict[int, dict[str, Any]]:
        """Records of the shots whose every frame is done, by shot number."""
        return {record["shot"]: record for record in _read_lines(self.path / SHOT_LOG_NAME)}

    def finish_shot(self, record: dict[str, Any]) -> None:
        _append_line(self.path / SHOT_LOG_NAME, record)

    def visit_records(self) -> list[FrameRecord]:
        """Every finished visit of a frame, in the order done; a torn last line (a crash
        mid-write) is ignored."""
        records = []
        for line in _read_lines(self.path / LOG_NAME):
            try:
                records.append(FrameRecord(**line))
            except TypeError:
                continue
        return records

    def records(self) -> dict[int, FrameRecord]:
        """The latest record of each frame, by index."""
        return {record.index: record for record in self.visit_records()}

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

    def _lock(self) -> None:
        """Lock the work dir against other processes while this one renders into it. Without
        it a second run of the same command rendered the same frames beside the first, and
        crashed when the first finished and removed the folder. A POSIX record lock (lockf)
        belongs to the process: the system drops it however the process ends, and a later
        render in the same process (a resume after Ctrl-C in a notebook) takes it again; it
        also ends when any of the process's handles on the file closes, which only two renders
        of one output in one process would meet. Windows goes without."""
        if sys.platform == "win32":
            return
        lock_file = open(self.path / LOCK_NAME, "a")  # noqa: SIM115 - held open for the lock's life
        try:
            fcntl.lockf(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock_file.close()
            raise OutputPathError(
                f"another vidstyle run is rendering into {self.path}; let it finish, or stop it and run this again"
            ) from None
        self._lock_file = lock_file


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


def _append_line(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line and make it durable before going on. A line torn by a kill
    mid-write is ended first: the new record would otherwise join it, and both be lost."""
    with path.open("a+b") as log_file:
        torn = log_file.tell() > 0 and log_file.seek(-1, os.SEEK_END) >= 0 and log_file.read(1) != b"\n"
        log_file.write((("\n" if torn else "") + json.dumps(record) + "\n").encode())
        log_file.flush()
        os.fsync(log_file.fileno())


def _read_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of ``path`` (none if it is missing); torn or foreign lines are skipped."""
    if not path.exists():
        return []
    lines = []
    for text in path.read_text(encoding="utf-8").splitlines():
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            lines.append(value)
    return lines

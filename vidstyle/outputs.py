"""Safe output paths: never overwrite the input, never replace a file unasked, never leave
a half-written file under the final name."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vidstyle.errors import OutputExistsError, OutputPathError


def check_output_path(output: Path, *, inputs: tuple[Path, ...], overwrite: bool) -> None:
    """Refuse an output that is one of the inputs, exists (without ``overwrite``), or cannot be written."""
    resolved = output.resolve()
    for source in inputs:
        if source.exists() and resolved == source.resolve():
            raise OutputPathError(f"{output}: the output would overwrite an input file; choose another -o")
    if output.is_dir():
        raise OutputPathError(f"{output}: is a directory; give a file name with -o")
    if output.exists() and not overwrite:
        raise OutputExistsError(f"{output}: already exists; use -y/--overwrite to replace it")
    parent = resolved.parent
    if not parent.is_dir():
        raise OutputPathError(f"{output}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputPathError(f"{output}: no permission to write in {parent}")


_PARTIAL = ".partial"


def remove_stale_partials(folder: Path, *, of: Path | None = None) -> None:
    """Delete the temporary files that a killed run left in ``folder``: those of the output
    ``of``, or every one (``temporary_output``'s names: a dot, the stem, mkstemp's 8
    characters, ``.partial`` and the extension)."""
    stem, suffix = (re.escape(of.stem), re.escape(of.suffix)) if of is not None else (".+", r"\.[^.]+")
    pattern = re.compile(rf"\.{stem}\.[a-z0-9_]{{8}}{_PARTIAL}{suffix}")
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            if pattern.fullmatch(entry.name) and entry.is_file():
                entry.unlink(missing_ok=True)


@contextlib.contextmanager
def temporary_output(output: Path) -> Iterator[Path]:
    """A temporary path beside ``output`` (same extension) that replaces it on success.

    The temporary file lives in the same folder, so the final rename is atomic; on any
    exception (Ctrl-C included) it is removed and ``output`` is left as it was. On success
    the data reach the disk before the rename, and the rename before this returns (the
    folder is synced): after a power cut the name holds the old file or the whole new one,
    and a caller may then delete what the new file replaces (a render, its frames).
    """
    handle, name = tempfile.mkstemp(prefix=f".{output.stem}.", suffix=_PARTIAL + output.suffix, dir=output.parent)
    os.close(handle)
    temp = Path(name)
    try:
        yield temp
        _fsync(temp)
        # mkstemp makes the file private (0600); a finished output gets the usual permissions.
        os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, output)
        fsync_folder(output.parent)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _fsync(path: Path) -> None:
    """Flush a file's data, or a folder's entries, to the disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# What a filesystem answers when it cannot sync a folder (some network and FUSE mounts): the
# rename is done by then, and durable as far as that filesystem makes anything durable.
_FOLDER_SYNC_REFUSED = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF})


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename in it) to the disk where the system can: Windows
    opens no folder as a file (its renames need no such step), and some filesystems refuse."""
    if sys.platform == "win32":
        return
    try:
        _fsync(folder)
    except OSError as error:
        if error.errno not in _FOLDER_SYNC_REFUSED:
            raise


def _umask() -> int:
    """The process's umask, read where the system tells it (Linux's /proc/self/status)
    without setting it: setting it to read it changes it for every thread for a moment, and a
    file another thread creates meanwhile (a saved frame, a journal) gets the wrong mode."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomically(output: Path, data: bytes) -> None:
    """Write ``data`` to ``output`` through a temporary file and an atomic, durable rename
    (``temporary_output``): never an empty file under the name after a power cut."""
    with temporary_output(output) as temp:
        temp.write_bytes(data)


def default_output_path(source: Path, styles: tuple[Path, ...], extension: str) -> Path:
    """``clip.starry_night.mp4`` beside ``clip.mp4``: the source's name, then the style names."""
    style_part = "+".join(style.stem for style in styles)
    return source.with_name(f"{source.stem}.{style_part}{extension}")

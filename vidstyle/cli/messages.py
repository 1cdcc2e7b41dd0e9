"""What is said when a render stops (Ctrl-C, a signal, out of memory) and the command
that goes on with it."""

from __future__ import annotations

import re
import shlex
import signal
from collections.abc import Sequence
from pathlib import Path

from vidstyle.cli.parser import PROG


def interrupted_message(work: Path, argv: Sequence[str]) -> str:
    """What an interrupted render left, in words (it may stop before its work folder exists),
    and the command that goes on from there."""
    from vidstyle.workdir import WorkDir

    if not work.is_dir():
        return "interrupted before the first frame was finished; nothing was kept."
    again = f"{PROG} {shlex.join(argv)}"
    finished = len(WorkDir(work).records())
    if not finished:
        return (
            f"interrupted before the first frame was finished; the work so far is kept in {work}. "
            f"Run the same command again to go on: {again}"
        )
    frames = "frame is" if finished == 1 else "frames are"
    return f"interrupted; {finished} finished {frames} kept in {work}. Run the same command again to resume: {again}"


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` says the device or the machine ran out of memory (torch raises
    OutOfMemoryError on CUDA, and a RuntimeError from its CPU allocator)."""
    text = str(error).lower()
    return isinstance(error, MemoryError) or (
        isinstance(error, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)
    )


def out_of_memory_message(work: Path, argv: Sequence[str]) -> str:
    """What a render that ran out of memory kept, and the two ways on: the same command once
    memory is freed (it resumes), or a smaller size, which starts over."""
    from vidstyle.workdir import WorkDir, saved_setting

    finished = len(WorkDir(work).records()) if work.is_dir() else 0
    kept = f"{finished} finished frame(s) are kept in {work}" if finished else "no frame was finished"
    size = saved_setting(work, ("size",))
    smaller = max(16, int(max(size) * 0.75) // 16 * 16) if isinstance(size, list) else None
    return (
        f"the device ran out of memory while painting; {kept}. Free memory (close other programs) and run the "
        f"same command again to resume: {PROG} {shlex.join(argv)}"
        + (f"; or paint smaller, starting over: add --size {smaller} --restart" if smaller else "")
    )


# What a preview's advice leaves out, with how many values follow each: the preview's own
# part and output, and -y, which would let the advice replace a finished render or the preview.
_PREVIEW_ONLY = {"--preview": 0, "--duration": 1, "--frames": 1, "-o": 1, "--output": 1, "-y": 0, "--overwrite": 0}


def full_render_command(argv: Sequence[str]) -> list[str]:
    """A preview's command line, made the full render's: the whole video to its default output."""
    command: list[str] = []
    tokens = iter(argv)
    for token in tokens:
        name = token.split("=", 1)[0]
        if name in _PREVIEW_ONLY:
            if _PREVIEW_ONLY[name] and "=" not in token:
                next(tokens, None)
            continue
        if token.startswith("-o") and not token.startswith("--"):
            continue  # -oFILE
        if re.fullmatch(r"-[a-zA-Z]+", token) and "y" in token:  # -qy: short flags together
            token = token.replace("y", "")
            if token == "-":
                continue
        command.append(token)
    return command


def interrupt_on_termination() -> None:
    """Treat SIGTERM and SIGHUP (a closed terminal, a shutdown) like Ctrl-C: stop cleanly, resumable."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        # A signal the process was started ignoring stays ignored: nohup ignores SIGHUP so
        # that a render outlives its terminal.
        if hasattr(signal, name) and signal.getsignal(getattr(signal, name)) != signal.SIG_IGN:
            signal.signal(getattr(signal, name), interrupt)

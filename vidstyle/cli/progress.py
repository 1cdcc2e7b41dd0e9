"""Progress bars (tqdm, with an ETA) and the log lines printed above them."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from tqdm import tqdm

from vidstyle.cli.parser import PROG

if TYPE_CHECKING:
    from vidstyle.detail_pass import DetailProgress
    from vidstyle.pipeline import FrameProgress


class _TqdmHandler(logging.Handler):
    """Log lines that do not tear through a progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        tqdm.write(f"{PROG}: {record.levelname.lower()}: {record.getMessage()}", file=sys.stderr)


def setup_logging(verbose: bool, quiet: bool) -> None:
    root = logging.getLogger("vidstyle")
    root.handlers[:] = [_TqdmHandler()]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)


class LazyBar:
    """A tqdm bar that appears at the first update, so that an early error prints no bar."""

    def __init__(self, unit: str, desc: str, quiet: bool) -> None:
        self.unit, self.desc, self.quiet = unit, desc, quiet
        self.bar: tqdm | None = None
        self.shown = 0.0  # when working() last refreshed the bar

    def update_to(self, done: int, total: int | None, postfix: dict[str, str], *, initial: int = 0) -> None:
        """Show ``done`` of ``total``; the rate counts what was done since the bar appeared
        beyond ``initial`` (what an interrupted run had done)."""
        if self.quiet:
            return
        if self.bar is None:
            self.bar = tqdm(total=total, unit=self.unit, desc=self.desc, dynamic_ncols=True, file=sys.stderr)
        self.bar.total = total
        self.bar.initial = initial
        self.bar.n = done
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.refresh()

    def working(self, postfix: dict[str, str]) -> None:
        """Show the bar (from the first iteration, before a frame is done), at most twice a second."""
        if self.quiet or not self._due():
            return
        if self.bar is None:
            self.update_to(0, None, postfix)
        else:
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.refresh()
        self.shown = time.monotonic()

    def count(self, done: int, total: int) -> None:
        """Show ``done`` of ``total`` at most twice a second, and at the end: for counts that
        run fast (the shot plan looks at dozens of frames a second)."""
        if done < total and not self._due():
            return
        self.update_to(done, total, {})
        self.shown = time.monotonic()

    def _due(self) -> bool:
        """Whether the bar is yet to appear, or was last refreshed half a second ago or more."""
        return self.bar is None or time.monotonic() - self.shown >= 0.5

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@contextmanager
def progress_bar(unit: str, desc: str, quiet: bool) -> Iterator[LazyBar]:
    bar = LazyBar(unit, desc, quiet)
    try:
        yield bar
    finally:
        bar.close()


class RenderBars:
    """A video render's bars, one after the other: planning shots, stylizing (with the
    iterations of the frame in hand), the detail pass. Each closes when the next moves."""

    def __init__(self, quiet: bool) -> None:
        self.plan = LazyBar("frame", "planning shots", quiet)
        self.frames = LazyBar("frame", "stylizing", quiet)
        self.detail = LazyBar("frame", "detail pass", quiet)

    def __enter__(self) -> RenderBars:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def close(self) -> None:
        for bar in (self.plan, self.frames, self.detail):
            bar.close()

    def on_plan(self, done: int, total: int) -> None:
        self.plan.count(done, total)

    def on_frame(self, progress: FrameProgress) -> None:
        self.plan.close()
        record = progress.record
        postfix = {"s_frame": f"{record.seconds:.1f}", "it": str(record.iterations)}
        self.frames.update_to(progress.done, progress.expected, postfix, initial=progress.done_before)

    def on_step(self, done: int, planned: int, loss: float) -> None:
        self.plan.close()
        self.frames.working({"it": f"{done}/{planned}"})

    def on_detail(self, progress: DetailProgress) -> None:
        self.plan.close()
        self.frames.close()
        postfix = {"s_frame": f"{progress.record.seconds:.1f}"}
        self.detail.update_to(progress.done, progress.expected, postfix, initial=progress.done_before)

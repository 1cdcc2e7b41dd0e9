"""A real ``vidstyle studio`` in a process of its own, for the studio's tests."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit


@dataclass
class RunningStudio:
    url: str  # the address it printed, token included
    root: Path
    process: subprocess.Popen[str]

    @property
    def base(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def token(self) -> str:
        return self.url.split("token=", 1)[1]

    def call(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        body: bytes | dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """(status, the JSON answer or the bytes) of one request."""
        query = {**(params or {}), "token": self.token if token is None else token}
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        request = urllib.request.Request(f"{self.base}{path}?{urlencode(query)}", data=data, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=300) as answer:
                status, raw, kind = answer.status, answer.read(), answer.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            status, raw, kind = error.code, error.read(), error.headers.get("Content-Type", "")
        return status, json.loads(raw) if kind.startswith("application/json") else raw

    def renders(self) -> list[dict[str, Any]]:
        return self.call("/api/renders")[1]["renders"]

    def wait_for(self, test: Any, timeout: float = 300.0) -> list[dict[str, Any]]:
        """The render list once ``test(renders)`` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            renders = self.renders()
            if test(renders):
                return renders
            time.sleep(0.2)
        raise AssertionError(f"timed out; the renders: {self.renders()}")

    def stop(self, timeout: float = 120.0) -> str:
        """Ctrl-C, as in its terminal; what it printed after its address."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        output, _ = self.process.communicate(timeout=timeout)
        return output


@contextmanager
def running_studio(root: Path, *arguments: str) -> Iterator[RunningStudio]:
    """``vidstyle studio --no-browser --root ROOT`` on a free port, stopped (Ctrl-C) at the end."""
    process = subprocess.Popen(
        [sys.executable, "-m", "vidstyle", "studio", "--no-browser", "--root", str(root), *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if not first.startswith("http://127.0.0.1:"):
        process.kill()
        raise AssertionError(f"the studio's first line is not its address: {first!r} {process.communicate()[0]}")
    studio = RunningStudio(first, root, process)
    try:
        yield studio
    finally:
        if process.poll() is None:
            studio.stop()

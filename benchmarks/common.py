"""What the benchmark scripts share: the machine a figure was measured on, where results go,
and a render kept for measuring.

A figure means little without its machine: the CPU model and whether it runs bf16 natively
(``lscpu``), the core count, the GPU, and the versions.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from vidstyle.pipeline import stylize_video
from vidstyle.workdir import WorkDir, work_dir_for

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def _lscpu() -> dict[str, str]:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def parser_for(doc: str | None) -> argparse.ArgumentParser:
    """A benchmark's argument parser: its docstring as help, and the clip and the style that
    every benchmark takes (the sample clip and painting by default)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, default=ROOT / "samples" / "pens.mp4")
    parser.add_argument("--style", type=Path, default=ROOT / "samples" / "starry_night.jpg")
    return parser


def machine() -> dict[str, Any]:
    """The machine, as the results record it."""
    cpu = _lscpu()
    flags = cpu.get("Flags", "").split()
    return {
        "cpu": cpu.get("Model name", platform.processor() or platform.machine()),
        "cpu bf16 flags": [flag for flag in BF16_FLAGS if flag in flags],
        "cores": os.cpu_count(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "opencv": cv2.__version__,
    }


def machine_line() -> str:
    found = machine()
    bf16 = ", ".join(found["cpu bf16 flags"]) or "no native bf16"
    gpu = f", {found['gpu']}" if found["gpu"] else ""
    return f"{found['cpu']} ({bf16}), {found['cores']} cores{gpu}, torch {found['torch']}"


def write_results(name: str, payload: dict[str, Any]) -> Path:
    """``benchmarks/results/<name>.<machine kind>.<date>.json`` with the command and machine."""
    today = datetime.date.today().isoformat()
    kind = "gpu" if torch.cuda.is_available() else "cpu"
    path = RESULTS / f"{name}.{kind}.{today}.json"
    record = {
        "date": today,
        "command": "python " + shlex.join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]]),
        "machine": machine(),
        **payload,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


@contextlib.contextmanager
def replaced(owner: Any, name: str, value: Any) -> Iterator[None]:
    """``owner.name`` set to ``value`` for the length of the block: a render the way it was."""
    before = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, before)


@dataclass(frozen=True)
class Rendered:
    """A finished render: its report, each frame's record, the lossless frames, the wall time."""

    report: Any
    records: list[Any]
    outputs: list[np.ndarray]
    seconds: float


def render_kept(clip: Path, style: Path, frames: int, size: int, options: dict[str, Any]) -> Rendered:
    """Render the first ``frames`` frames and keep the saved (lossless) frames. Written at the
    painted size unless ``options`` say otherwise: the figures are the painting's, as before
    the output took the source's size."""
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "out.mp4"
        records: list[Any] = []
        started = time.perf_counter()
        report = stylize_video(
            clip,
            style,
            output,
            frames=frames,
            size=size,
            keep_frames=True,
            on_frame=lambda p: records.append(p.record),
            **{"output_size": "processing", **options},
        )
        seconds = time.perf_counter() - started
        work = WorkDir(work_dir_for(output))
        outputs = [work.load(i) for i in range(report.frames)]
    return Rendered(report=report, records=records, outputs=outputs, seconds=seconds)


def save_picture(folder: Path, name: str, picture: np.ndarray) -> None:
    """Write an RGB picture as ``folder/name.png``, spaces and commas in ``name`` made safe."""
    folder.mkdir(parents=True, exist_ok=True)
    safe = name.replace(" ", "_").replace(",", "")
    cv2.imwrite(str(folder / f"{safe}.png"), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))

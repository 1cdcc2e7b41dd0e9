"""What the benchmark scripts share: the machine a figure was measured on, and where results go.

A figure means little without its machine: the CPU model and whether it runs bf16 natively
(``lscpu``), the core count, the GPU, and the versions.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import torch

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
        "command": "python " + " ".join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]]),
        "machine": machine(),
        **payload,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path

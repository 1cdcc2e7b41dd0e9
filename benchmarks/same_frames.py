"""Whether two checkouts of vidstyle paint the same frames, byte for byte: a refactor's check.

Renders a clip with the vidstyle of ``--before`` (another checkout, e.g. a git worktree of
an older commit) and with this one, each keeping its work folder, and compares every saved
frame's PNG bytes and the encoded outputs' decoded pixels.

    git worktree add /tmp/before <commit>
    python benchmarks/same_frames.py --before /tmp/before                       # defaults
    python benchmarks/same_frames.py --before /tmp/before -- --passes 2 --units 2

One render at a time (two at once would share the cores, not change the frames).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vidstyle.video_io import read_frames  # noqa: E402  (this checkout's reader for both)


def render(checkout: Path, clip: Path, style: Path, output: Path, extra: list[str]) -> float:
    command = [sys.executable, "-m", "vidstyle", str(clip), "--style", str(style), "-o", str(output)]
    command += ["--keep-frames", "-q", *extra]
    started = time.perf_counter()
    subprocess.run(command, cwd=checkout, env={**os.environ, "PYTHONPATH": str(checkout)}, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True, help="the other checkout's root")
    parser.add_argument("--clip", type=Path, default=ROOT / "samples" / "pens.mp4")
    parser.add_argument("--style", type=Path, default=ROOT / "samples" / "starry_night.jpg")
    parser.add_argument("extra", nargs="*", help="vidstyle options for both renders (after --)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        outputs = {}
        for name, checkout in (("before", args.before.resolve()), ("after", ROOT)):
            outputs[name] = Path(tmp) / f"{name}.mp4"
            seconds = render(checkout, args.clip.resolve(), args.style.resolve(), outputs[name], args.extra)
            print(f"{name}: {checkout} rendered in {seconds:.0f} s", flush=True)
        frames = {
            name: sorted((Path(f"{out}.vidstyle-work") / "frames").glob("*.png")) for name, out in outputs.items()
        }
        assert [p.name for p in frames["before"]] == [p.name for p in frames["after"]], "different frames saved"
        differing = [
            a.name for a, b in zip(frames["before"], frames["after"], strict=True) if a.read_bytes() != b.read_bytes()
        ]
        decoded = [list(read_frames(out)) for out in outputs.values()]
        pixels_equal = len(decoded[0]) == len(decoded[1]) and all(
            np.array_equal(a.frame, b.frame) and a.pts == b.pts for a, b in zip(*decoded, strict=True)
        )
        options = " ".join(args.extra) or "defaults"
        print(
            f"{args.clip.name} ({options}): {len(frames['after'])} saved frames, {len(differing)} differ in bytes; "
            f"encoded outputs {'identical' if pixels_equal else 'DIFFERENT'} in pixels and timestamps "
            f"({len(decoded[1])} frames)"
        )
        if differing or not pixels_equal:
            raise SystemExit(f"differ: {differing[:10]}")


if __name__ == "__main__":
    main()

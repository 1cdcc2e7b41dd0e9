"""The detail pass against the Lanczos enlargement (--detail off) and a full-size paint
(--size source), at the delivered size: what issue "Painted at the size you gave" asks.

Each run is a real render of the clip's first frames (one at a time, timed with the wall
clock and the process's CPU time), its frames kept. Measured on the delivered frames:

- style loss at the delivered size, against the painting at the frame's size, and at the
  painted size (the delivered frames shrunk), against the painting at that size: the
  composition kept (``vidstyle.metrics.measure``: reflect-padded network, unit weights);
- sharpness: the mean |Laplacian| of the luminance at the delivered size;
- the warping error at the delivered size (and the painted frames' at theirs), beside the
  source's own at the same size: the flow between the sources at up to 480 px, enlarged.

Crops at 1:1 of one frame, side by side (Lanczos, detail pass, full-size paint), are written
to ``--pictures``. The default clip is made here: The Great Wave panned slowly at 640x360
(a sharp picture moving by sub-pixel steps), painted at 160 px, a 4x enlargement.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from common import ROOT, parser_for, save_picture, write_results

from vidstyle import imageops
from vidstyle.metrics import VideoMetrics, measure
from vidstyle.video_io import read_frames
from vidstyle.workdir import WorkDir, work_dir_for


def panned_clip(picture: Path, path: Path, width: int, height: int, frames: int) -> Path:
    """A clip of ``picture`` panned diagonally by sub-pixel steps (0.9 and 1.7 px a frame)."""
    image = imageops.read_image(picture)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "14"}
        for index in range(frames):
            shift = np.array([[1, 0, -0.9 * index], [0, 1, -1.7 * index]], dtype=np.float32)
            frame = np.asarray(
                cv2.warpAffine(image, shift, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT),
                dtype=np.uint8,
            )
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def render(clip: Path, style: Path, output: Path, frames: int, options: list[str]) -> tuple[float, float]:
    """One render with the command line, its frames kept; (wall seconds, CPU seconds)."""
    command = [sys.executable, "-m", "vidstyle", str(clip), "-s", str(style), "-o", str(output), "-y", "-q"]
    command += ["--frames", str(frames), "--keep-frames", *options]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return time.perf_counter() - started, cpu


def sharpness(frame: np.ndarray) -> float:
    """Mean |Laplacian| of the luminance."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())


def figures(sources: list[np.ndarray], frames: list[np.ndarray], style: Path, every: int) -> VideoMetrics:
    return measure(iter(sources), iter(frames), styles=(style,), losses_every=every)


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--size", type=int, default=160, help="the painted size (long side)")
    parser.add_argument("--picture", type=Path, default=ROOT / "samples" / "great_wave.jpg")
    parser.add_argument("--width", type=int, default=640, help="the made clip's width (its height: 9/16 of it)")
    parser.add_argument("--use-clip", action="store_true", help="render --clip instead of the made clip")
    parser.add_argument("--no-full-size", action="store_true", help="leave out the full-size paint")
    parser.add_argument("--pictures", type=Path, default=ROOT / "benchmarks" / ".cache" / "detail")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip = (
            args.clip
            if args.use_clip
            else panned_clip(args.picture, folder / "clip.mp4", args.width, args.width * 9 // 16 // 2 * 2, args.frames)
        )
        sources = [decoded.frame for _, decoded in zip(range(args.frames), read_frames(clip), strict=False)]
        height, width = sources[0].shape[:2]
        every = max(1, args.frames // 4)
        runs = {
            "lanczos (--detail off)": ["--size", str(args.size), "--detail", "off"],
            "detail pass (default)": ["--size", str(args.size)],
            **({} if args.no_full_size else {"full-size paint (--size source)": ["--size", "source"]}),
        }
        rows: list[dict[str, Any]] = []
        delivered: dict[str, list[np.ndarray]] = {}
        painted: list[np.ndarray] = []
        for name, options in runs.items():
            output = folder / f"run{len(rows)}.mp4"
            wall, cpu = render(clip, args.style, output, args.frames, options)
            work = WorkDir(work_dir_for(output))
            own = [work.load(i) for i in range(args.frames)]
            if "--detail" in options:
                painted = own
                frames = [cv2.resize(f, (width, height), interpolation=cv2.INTER_LANCZOS4) for f in own]
            elif any(work.details.path(i).exists() for i in range(1)):
                frames = [work.details.load(i) for i in range(args.frames)]
            else:
                frames = own
            delivered[name] = frames
            big = figures(sources, frames, args.style, every)
            small_size = painted[0].shape[1::-1]
            shrunk = [cv2.resize(f, small_size, interpolation=cv2.INTER_AREA) for f in frames]
            small = figures(sources, shrunk, args.style, every)
            rows.append({
                "run": name,
                "style at delivered size": big.style_loss,
                "style at painted size": small.style_loss,
                "sharpness": float(np.mean([sharpness(f) for f in frames])),
                "warping error": big.warping_error,
                "source warping error": big.source_warping_error,
                "seconds": wall,
                "core-seconds": cpu,
            })  # fmt: skip
            print(rows[-1], flush=True)
        alone = figures(sources, painted, args.style, every)
        painted_row = {
            "style at painted size": alone.style_loss,
            "warping error": alone.warping_error,
            "source warping error": alone.source_warping_error,
            "sharpness": float(np.mean([sharpness(f) for f in painted])),
        }
        print({"painted frames at their size": painted_row})
        index = min(args.frames - 1, 10)
        crop = (slice(height // 4, height // 4 + 256), slice(width // 3, width // 3 + 256))
        sheet = np.hstack([frames[index][crop] for frames in delivered.values()])
        save_picture(args.pictures, f"crops_{width}x{height}", sheet)
    path = write_results(
        f"detail.{args.clip.stem}" if args.use_clip else "detail",
        {
            "clip": "made: " + args.picture.name + " panned" if not args.use_clip else args.clip.name,
            "style": args.style.name,
            "delivered": [width, height],
            "painted": list(painted[0].shape[1::-1]),
            "frames": args.frames,
            "painted frames": painted_row,
            "rows": rows,
        },
    )
    print(f"results: {path}; crops: {args.pictures}")


if __name__ == "__main__":
    main()

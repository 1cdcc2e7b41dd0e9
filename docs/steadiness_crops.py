"""1:1 crops of consecutive delivered frames, from the frames ``benchmarks/bench_steadiness.py``
kept of each variant of the detail pass: a sheet (frames 10, 11 and 20, a variant a row) and a
looping GIF of 24 frames (the variants side by side), on the juggler by default.

    python benchmarks/bench_steadiness.py --clip ../shared/assets/juggle_720p.mp4 --start 2 --size 320
    python docs/steadiness_crops.py     # docs/steadiness_crops.jpg and docs/steadiness_loop.gif
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
KEPT = ROOT / "benchmarks" / ".cache" / "steadiness" / "juggle_720p.2.0.36.320.0.starry_night"


def load(folder: Path, index: int) -> np.ndarray:
    bgr = cv2.imread(str(folder / f"{index:04d}.png"), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"{folder / f'{index:04d}.png'}: not there; run benchmarks/bench_steadiness.py first")
    return np.ascontiguousarray(bgr[..., ::-1])


def labelled(picture: np.ndarray, text: str) -> np.ndarray:
    out = picture.copy()
    cv2.putText(out, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kept", type=Path, default=KEPT, help="the folder of the variants' frames")
    parser.add_argument("--variants", nargs="+", default=["previous", "current"])
    parser.add_argument("--box", type=int, nargs=4, default=[560, 190, 240, 260], help="x y width height")
    parser.add_argument("--sheet", type=Path, default=ROOT / "docs" / "steadiness_crops.jpg")
    parser.add_argument("--gif", type=Path, default=ROOT / "docs" / "steadiness_loop.gif")
    args = parser.parse_args()
    x, y, width, height = args.box
    crop = (slice(y, y + height), slice(x, x + width))
    gap = np.full((height, 4, 3), 255, np.uint8)
    rows = []
    for variant in args.variants:
        cells = [labelled(load(args.kept / variant, i)[crop], f"{variant}, frame {i}") for i in (10, 11, 20)]
        rows.append(np.hstack([cells[0], gap, cells[1], gap, cells[2]]))
    sheet = np.vstack([part for row in rows for part in (row, np.full((4, row.shape[1], 3), 255, np.uint8))][:-1])
    cv2.imwrite(str(args.sheet), sheet[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
    frames = []
    for index in range(24):
        cells = [labelled(load(args.kept / v, index)[crop], v) for v in args.variants]
        frames.append(Image.fromarray(np.hstack([part for c in cells for part in (c, gap)][:-1])))
    frames[0].save(args.gif, save_all=True, append_images=frames[1:], duration=1000 // 24, loop=0)
    print(f"{args.sheet}, {args.gif}")


if __name__ == "__main__":
    main()

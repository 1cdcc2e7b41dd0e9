"""A contact sheet for the README: a few frames of a clip above the same frames stylized.

python docs/contact_sheet.py samples/pens.mp4 samples/pens.starry_night.mp4 docs/pens.contact_sheet.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from vidstyle.imageops import resize_frame
from vidstyle.video_io import read_frames


def evenly_spaced(path: Path, count: int) -> list[np.ndarray]:
    frames = [decoded.frame for decoded in read_frames(path)]
    picks = np.linspace(0, len(frames) - 1, count).round().astype(int)
    return [frames[i] for i in picks]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("stylized", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--count", type=int, default=5, help="frames per row (default 5)")
    args = parser.parse_args()

    stylized = evenly_spaced(args.stylized, args.count)
    height, width = stylized[0].shape[:2]
    # The source at the stylized frames' size, so that the two rows line up.
    source = [resize_frame(frame, width, height) for frame in evenly_spaced(args.source, args.count)]
    gap = 4

    def row(frames: list[np.ndarray]) -> np.ndarray:
        spacer = np.full((height, gap, 3), 255, np.uint8)
        parts = [part for frame in frames for part in (frame, spacer)][:-1]
        return np.concatenate(parts, axis=1)

    sheet = np.concatenate([row(source), np.full((gap, row(source).shape[1], 3), 255, np.uint8), row(stylized)])
    cv2.imwrite(str(args.output), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    print(f"{args.output}: {sheet.shape[1]}x{sheet.shape[0]}")


if __name__ == "__main__":
    main()

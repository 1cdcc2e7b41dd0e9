"""The space a frame is optimized in: RGB itself, or, with --preserve-colors, its luminance
repeated on three channels, the content's colours put back on the way out (Gatys, Bethge,
Hertzmann and Shechtman 2016, "Preserving Color in Neural Artistic Style Transfer":
luminance-only transfer, the style images' luminance matched to the content's)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vidstyle import imageops


@dataclass(frozen=True)
class ColourSpace:
    """Frames (uint8 RGB) in and out of the optimization space, on ``device``."""

    preserve_colors: bool
    device: torch.device

    def image(self, frame: np.ndarray) -> torch.Tensor:
        """A frame as the image that is optimized: RGB, or grey luminance with preserve_colors."""
        image = imageops.frame_to_image(frame, self.device)
        return imageops.luminance_image(image) if self.preserve_colors else image

    def noise(self, height: int, width: int, seed: int) -> torch.Tensor:
        """White noise in [0, 1] (Gatys et al.'s start), the same for the same seed."""
        generator = torch.Generator().manual_seed(seed)
        noise = torch.rand((1, 3, height, width), generator=generator).to(self.device)
        return imageops.luminance_image(noise) if self.preserve_colors else noise

    def frame(self, image: torch.Tensor, content_frame: np.ndarray) -> np.ndarray:
        """An optimization-space image as an output frame, with the content's colours if preserved."""
        if self.preserve_colors:
            image = imageops.combine_luminance(image, imageops.frame_to_image(content_frame, self.device))
        return imageops.image_to_frame(image)

    def style_reference(self, content_frame: np.ndarray | None) -> torch.Tensor | None:
        """What the style images' luminance is matched to: the content's, with preserve_colors
        (None without)."""
        if not self.preserve_colors:
            return None
        if content_frame is None:
            raise ValueError("preserve_colors needs a reference content frame")
        return imageops.luminance_image(imageops.frame_to_image(content_frame, self.device))

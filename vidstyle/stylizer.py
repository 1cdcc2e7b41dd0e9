"""The style model of one job: VGG19, the style targets, colour handling and the per-frame call.

Everything that is the same for every frame of a job is computed here once: the network,
the backend, the colour space (``colour_space.py``) and the style Gram matrices
(``style_targets.py``). ``Stylizer.stylize`` then turns one content frame (and an optional
warm start and temporal terms) into a stylized frame, coarse to fine where asked (the levels
and budgets: ``pyramid.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vidstyle import imageops
from vidstyle.backend import Backend, choose_backend
from vidstyle.colour_space import ColourSpace
from vidstyle.errors import InputFileError
from vidstyle.objective import StyleObjective, TemporalTerm
from vidstyle.optimize import FrameResult, StepCallback, stylize_frame
from vidstyle.options import option_flag
from vidstyle.pyramid import budget_text, level_budgets, pyramid
from vidstyle.settings import INIT_MODES, EngineSettings, LossWeights, OptimizerSettings, StyleSettings
from vidstyle.style_targets import style_targets
from vidstyle.vgg import VGG19Features


@dataclass(frozen=True)
class StylizedFrame:
    """A stylized frame (uint8 RGB), the full-size level's record, the iterations of all
    levels together (each one network evaluation, smaller ones cheaper), and the same counted
    in full-size evaluations (one at half size counts a quarter): a cost that does not drift
    with the machine's load."""

    frame: np.ndarray
    result: FrameResult
    iterations: int
    evaluations: float


def check_images(style: StyleSettings, init: str) -> None:
    """Fail fast, before any long pass over a video, on a style or ``--init`` file that does not
    decode (each is read at 1/8 size here, where the decoder allows)."""
    for path in style.paths:
        imageops.read_image(path, max_long_side=16)
    if init not in INIT_MODES:
        try:
            imageops.read_image(Path(init), max_long_side=16)
        except InputFileError as exc:
            raise type(exc)(f"{option_flag('init')} {exc}") from None


class Stylizer:
    """Stylizes frames of one job. Build once per job: it loads the network and the styles.

    Images pass through an *optimization space* (``colour_space.ColourSpace``): RGB itself,
    or with ``preserve_colors`` the luminance, recombined with the content's colours on the
    way out.
    """

    def __init__(
        self,
        style: StyleSettings,
        losses: LossWeights,
        optimizer: OptimizerSettings,
        engine: EngineSettings,
        *,
        content_size: tuple[int, int],
        reference_frame: np.ndarray | None = None,
        style_targets: dict[tuple[int, int], dict[str, torch.Tensor]] | None = None,
        init_picture: np.ndarray | None = None,
        backend: Backend | None = None,
    ) -> None:
        self.style = style
        self.losses = losses
        self.optimizer = optimizer
        self.engine = engine
        self.backend = backend or choose_backend(engine, frame_size=content_size)
        self.device = self.backend.device
        self.compute_dtype = self.backend.dtype
        self.colours = ColourSpace(style.preserve_colors, self.device)
        encoder = VGG19Features([losses.content_layer, *losses.style_layers], weights=engine.weights)
        self.objective = StyleObjective(
            encoder.to(self.device), losses, compute_dtype=self.compute_dtype, margin=engine.edge_margin
        )
        self.objective.use_cuda_graphs = self.backend.cuda_graphs
        width, height = content_size
        self.full_size = (height, width)
        if style_targets is None:
            style_targets = self._style_targets(reference_frame)
        # Computed here, or once elsewhere (another process, say) for this very job and size.
        self._targets = {
            level: {layer: gram.to(self.device) for layer, gram in grams.items()}
            for level, grams in style_targets.items()
        }
        self._use_level(self.full_size)
        # An --init image, read once (or given: a Ray task gets the pixels, not a path to read).
        self.init_picture = init_picture

    @property
    def engine_text(self) -> str:
        """Where and in what the network paints: ``cpu, float32``."""
        return self.backend.engine_text

    def read_init_picture(self, path: Path) -> np.ndarray:
        """The ``--init`` image, read once, as a first frame's size needs it."""
        if self.init_picture is None:
            self.init_picture = imageops.read_image(path, max_long_side=max(self.full_size))
        return self.init_picture

    @property
    def style_targets(self) -> dict[tuple[int, int], dict[str, torch.Tensor]]:
        """The style Grams of every pyramid level (by its (height, width)), on the CPU: to
        build another Stylizer of the same job without the style images (``style_targets=``)."""
        on_cpu = {}
        for level, grams in self._targets.items():
            on_cpu[level] = {layer: gram.detach().cpu() for layer, gram in grams.items()}
        return on_cpu

    def _style_targets(self, reference_frame: np.ndarray | None) -> dict[tuple[int, int], dict[str, torch.Tensor]]:
        levels = pyramid(*self.full_size, self.optimizer.scales)
        return style_targets(self.objective, self.style, levels, self.colours.style_reference(reference_frame))

    def _use_level(self, level: tuple[int, int]) -> None:
        """Point the objective at a level's style targets. Each level keeps its own tensors, so
        the CUDA graph of a level's shape always reads that level's targets."""
        self.objective.style_grams = self._targets[level]

    def to_optimization_space(self, frame: np.ndarray) -> torch.Tensor:
        """A frame as the image that is optimized (``ColourSpace.image``)."""
        return self.colours.image(frame)

    def random_image(self, height: int, width: int, seed: int) -> torch.Tensor:
        """White noise in the optimization space (``ColourSpace.noise``)."""
        return self.colours.noise(height, width, seed)

    def first_frame_init(self, frame: np.ndarray, mode: str, *, seed: int) -> torch.Tensor:
        """Start of a first frame: ``content``, ``random`` (noise from ``seed``) or an image path."""
        height, width = frame.shape[:2]
        if mode == "content":
            return self.to_optimization_space(frame)
        if mode == "random":
            return self.random_image(height, width, seed)
        init_frame = self.read_init_picture(Path(mode))
        return self.to_optimization_space(imageops.resize_frame(init_frame, width, height))

    def stylize(
        self,
        frame: np.ndarray,
        init: torch.Tensor,
        *,
        iterations: int,
        temporal: Sequence[TemporalTerm] = (),
        coarse_to_fine: bool = False,
        on_step: StepCallback | None = None,
    ) -> StylizedFrame:
        """Stylize ``frame`` (uint8 RGB) starting from ``init`` (optimization space, same size).

        With ``coarse_to_fine`` and ``optimizer.scales`` > 1, the image is first optimized at
        1/2, 1/4 ... of the size, each result enlarged to start the next level; the full size
        then needs fewer iterations. Temporal terms apply at full size only. ``on_step`` gets
        (iterations so far, iterations planned over all levels, loss).
        """
        content = self.to_optimization_space(frame)
        height, width = frame.shape[:2]
        scales = self.optimizer.scales
        plan = level_budgets(height, width, iterations, scales) if coarse_to_fine else [((height, width), iterations)]
        planned, done, evaluations = sum(budget for _, budget in plan), 0, 0.0
        image = init
        result: FrameResult | None = None
        for level, ((level_h, level_w), budget) in enumerate(plan):
            last = level == len(plan) - 1

            def report(iteration: int, _: int, loss: float, offset: int = done) -> None:
                if on_step is not None:
                    on_step(offset + iteration, planned, loss)

            self._use_level((level_h, level_w))
            result = stylize_frame(
                self.objective,
                imageops.resize_image(content, level_h, level_w),
                imageops.resize_image(image, level_h, level_w),
                self.optimizer,
                iterations=budget,
                temporal=temporal if last else (),
                on_step=report,
            )
            done += result.iterations
            evaluations += result.evaluations * (level_h * level_w) / (height * width)
            image = result.image
        self._use_level(self.full_size)
        assert result is not None
        return StylizedFrame(
            frame=self.to_frame(result.image, frame), result=result, iterations=done, evaluations=evaluations
        )

    def budget_text(self, iterations: int) -> str:
        """What a first frame's progress counts (``pyramid.budget_text``), at this job's size."""
        return budget_text(*self.full_size, iterations, self.optimizer.scales)

    def to_frame(self, image: torch.Tensor, content_frame: np.ndarray) -> np.ndarray:
        """An optimization-space image as an output frame (``ColourSpace.frame``)."""
        return self.colours.frame(image, content_frame)

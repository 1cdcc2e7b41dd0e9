"""Settings as frozen dataclasses. Every default lives here, and every check of a value.

Fields are validated on construction and raise ``UsageError`` with one clear line, so the CLI
and the Python API reject the same bad values in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from vidstyle.errors import UsageError
from vidstyle.sizes import fit_long_side
from vidstyle.vgg_layout import LAYER_NAMES, WeightsName

DeviceName = Literal["auto", "cpu", "cuda", "mps"]
PrecisionName = Literal["auto", "fp32", "bf16", "fp16"]
OptimizerName = Literal["lbfgs", "adam"]
TemporalInit = Literal["prev-warped", "prev", "content", "random"]
FlowMethod = Literal["dis", "farneback", "deepflow"]
DisPreset = Literal["ultrafast", "fast", "medium", "fine"]
QualityName = Literal["preview", "draft", "normal", "high"]
OutputSizeName = Literal["processing", "source"]

# Gatys et al. use relu4_2 for content and relu{1..5}_1 for style.
DEFAULT_CONTENT_LAYER = "relu4_2"
DEFAULT_STYLE_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
# VGG19 pools four times before relu5_1: 16 px become 1.
MIN_SIDE = 16
# Ruder et al. ran up to 100 passes of a few iterations; past 16 a default budget gives each
# pass fewer than 4 iterations, too few for L-BFGS to build its curvature history.
MAX_PASSES = 16
# --chunk-frames: a chunk must hold more than a seam's handover (temporal.HANDOVER_FRAMES).
# On a cluster, shots longer than the default are split. Each chunk costs a fresh start and
# each seam 8 re-visits (benchmarks/bench_chunks.py): at 200 frames a chunk, about 5% more
# evaluations, and 8 s of 25 fps video per worker.
MIN_CHUNK_FRAMES = 24
DEFAULT_CHUNK_FRAMES = 200


def check_choice(name: str, value: object, literal: object) -> None:
    """Raise UsageError unless ``value`` is one of the ``Literal`` type's choices."""
    choices = get_args(literal)
    if value not in choices:
        raise UsageError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _check_positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "more than zero"
        raise UsageError(f"{name} must be {bound}; got {value}")


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss terms; the style weight is shared out over ``style_layers`` equally."""

    content: float = 1.0
    style: float = 10.0
    tv: float = 5.0
    temporal: float = 200.0
    content_layer: str = DEFAULT_CONTENT_LAYER
    style_layers: tuple[str, ...] = DEFAULT_STYLE_LAYERS

    def __post_init__(self) -> None:
        for name in ("content", "style", "tv", "temporal"):
            _check_positive(f"--{name}-weight", getattr(self, name), allow_zero=True)
        if self.content == 0 and self.style == 0:
            raise UsageError("content and style weights cannot both be zero")
        for layer in (self.content_layer, *self.style_layers):
            if layer not in LAYER_NAMES:
                raise UsageError(f"unknown VGG19 layer {layer!r}; choose from {', '.join(LAYER_NAMES)}")
        if not self.style_layers:
            raise UsageError("at least one style layer is needed")

    @property
    def style_layer_weights(self) -> dict[str, float]:
        share = 1.0 / len(self.style_layers)
        return {layer: share for layer in self.style_layers}


@dataclass(frozen=True)
class OptimizerSettings:
    """How one frame's pixels are optimized.

    ``iterations`` bounds a first frame (or a still image); ``later_iterations`` bounds a
    frame that starts from the previous output. Both stop early once the loss changes by
    less than ``tolerance`` (relative) over ``window`` iterations. ``scales`` > 1 runs a
    coarse-to-fine pyramid (each level half the size of the next) for first frames.
    """

    optimizer: OptimizerName = "lbfgs"
    iterations: int = 200
    later_iterations: int = 50
    tolerance: float = 1e-3
    window: int = 10
    scales: int = 2
    learning_rate: float = 0.02
    history_size: int = 50

    def __post_init__(self) -> None:
        check_choice("--optimizer", self.optimizer, OptimizerName)
        if self.iterations < 1 or self.later_iterations < 1:
            raise UsageError("--iterations and --frame-iterations must be at least 1")
        _check_positive("--tolerance", self.tolerance, allow_zero=True)
        if self.window < 1:
            raise UsageError("the convergence window must be at least 1 iteration")
        if not 1 <= self.scales <= 4:
            raise UsageError(f"--scales must be between 1 and 4; got {self.scales}")
        _check_positive("--lr", self.learning_rate)
        if self.history_size < 1:
            raise UsageError("history size must be at least 1")


@dataclass(frozen=True)
class StyleSettings:
    """The painting(s) to imitate and how."""

    paths: tuple[Path, ...]
    blend: tuple[float, ...] = ()
    scale: float = 1.0
    preserve_colors: bool = False

    def __post_init__(self) -> None:
        if not self.paths:
            raise UsageError("at least one style image is needed")
        if self.blend and len(self.blend) != len(self.paths):
            given, images = _count(len(self.blend), "weight"), _count(len(self.paths), "style image")
            raise UsageError(f"--style-weights: {given} for {images}")
        if any(weight < 0 for weight in self.blend) or (self.blend and sum(self.blend) <= 0):
            raise UsageError("--style-weights must be zero or more, and not all zero")
        _check_positive("--style-scale", self.scale)

    @property
    def normalized_blend(self) -> tuple[float, ...]:
        weights = self.blend or (1.0,) * len(self.paths)
        total = sum(weights)
        return tuple(weight / total for weight in weights)


@dataclass(frozen=True)
class EngineSettings:
    """Where and how the network runs.

    ``threads``: the network's CPU threads (default: every core the process may use).

    ``edge_margin`` mirrors that many pixels around the picture before the network while
    stylizing. Without it, VGG19's zero padding draws a faint line some 10 px inside each edge
    of a stylized frame; 16 px removes it (8 px does not). It stays off by default until the
    speed benchmark's baseline is measured with it: with a margin the picture no longer
    matches the style losses as Gatys et al. define them (zero padding and all), and those
    rose by 63% in benchmarks/bench_video.py although frames made with it look no less painted.
    """

    device: DeviceName = "auto"
    precision: PrecisionName = "auto"
    weights: WeightsName = "caffe"
    seed: int = 0
    edge_margin: int = 0
    threads: int | None = None

    def __post_init__(self) -> None:
        check_choice("--device", self.device, DeviceName)
        if self.threads is not None and self.threads < 1:
            raise UsageError(f"--threads must be at least 1; got {self.threads}")
        check_choice("--precision", self.precision, PrecisionName)
        check_choice("--weights", self.weights, WeightsName)
        if not 0 <= self.edge_margin <= 64:
            raise UsageError(f"--edge-margin must be between 0 and 64 px; got {self.edge_margin}")


@dataclass(frozen=True)
class TemporalSettings:
    """Ruder et al.'s temporal consistency: flow, warm start, temporal loss, scene cuts.

    ``long_term`` lists the neighbouring frames (1 = the next one) whose warped outputs pull
    on a frame; ``cut_threshold`` is the fraction of pixels that must stay reliable between
    two frames for them to count as one shot (0 turns shot detection off). Measured: a real
    cut in the 1906 film leaves 5% reliable; within a shot, never less than 36% there (grain
    and flicker) or 63% in pens.mp4. ``passes`` > 1 runs Ruder et al.'s multi-pass algorithm
    over each shot, the budget shared out over the passes; ``loop`` makes the last frame
    flow into the first. ``chunk_frames`` splits longer shots into chunks that render apart,
    their seams repaired (``work_units.py``): 0 keeps shots whole, None chooses (whole shots
    on one machine, ``DEFAULT_CHUNK_FRAMES`` on a cluster).
    """

    flow: FlowMethod = "dis"
    dis_preset: DisPreset = "fine"
    init: TemporalInit = "prev-warped"
    # Ruder et al.'s long-term consistency, on by default since it pays: on pens.mp4 and the
    # 1906 film (benchmarks/bench_shots.py long-term) 1,2,4 cut the warping error between
    # frames 2, 5 and 10 apart by 24-52%, for +2-5% on neighbours, +1% style loss and a few
    # percent of time.
    long_term: tuple[int, ...] = (1, 2, 4)
    cut_threshold: float = 0.15
    passes: int = 1
    loop: bool = False
    chunk_frames: int | None = None

    def __post_init__(self) -> None:
        check_choice("--flow", self.flow, FlowMethod)
        check_choice("--flow-preset", self.dis_preset, DisPreset)
        check_choice("--temporal-init", self.init, TemporalInit)
        if not self.long_term or any(offset < 1 for offset in self.long_term):
            raise UsageError("--long-term offsets must be whole numbers of frames, 1 or more")
        if tuple(sorted(set(self.long_term))) != self.long_term:
            raise UsageError("--long-term offsets must be given in increasing order without repeats")
        if self.long_term[0] != 1:
            # Ruder et al.'s sets always hold the next frame: it is also where a frame starts from.
            raise UsageError(f"--long-term offsets start at 1, the next frame (e.g. 1,2,4); got {self.long_term}")
        if not 0 <= self.cut_threshold < 1:
            raise UsageError(f"--cut-threshold must be at least 0 and below 1; got {self.cut_threshold}")
        if not 1 <= self.passes <= MAX_PASSES:
            raise UsageError(f"--passes must be between 1 and {MAX_PASSES}; got {self.passes}")
        if self.chunk_frames not in (None, 0) and not (self.chunk_frames or 0) >= MIN_CHUNK_FRAMES:
            minimum = MIN_CHUNK_FRAMES
            raise UsageError(f"--chunk-frames must be 0 (whole shots) or at least {minimum}; got {self.chunk_frames}")


@dataclass(frozen=True)
class ClusterSettings:
    """Shots rendered as Ray tasks on the cluster that ``address`` names (``local`` starts
    one here, ``auto`` joins a running one, else host:port). Does not shape the frames: a
    distributed render equals a local one."""

    address: str
    cpus_per_task: int = 1

    def __post_init__(self) -> None:
        if not self.address.strip():
            raise UsageError("--ray needs local, auto or a cluster address")
        if self.cpus_per_task < 1:
            raise UsageError(f"--ray-cpus-per-task must be at least 1; got {self.cpus_per_task}")


def cluster_settings(address: str | None, cpus_per_task: int | None) -> ClusterSettings | None:
    """The cluster options as given (None: not given); None when shots render here."""
    if address is None:
        if cpus_per_task is not None:
            raise UsageError("--ray-cpus-per-task needs --ray")
        return None
    return ClusterSettings(address) if cpus_per_task is None else ClusterSettings(address, cpus_per_task)


@dataclass(frozen=True)
class Preset:
    """What ``--quality`` sets; any explicit option overrides its part."""

    video_size: int
    image_size: int
    iterations: int
    later_iterations: int
    tolerance: float
    scales: int


PRESETS: dict[QualityName, Preset] = {
    # --preview: a first look at a few seconds within minutes on a laptop CPU.
    "preview": Preset(video_size=128, image_size=256, iterations=80, later_iterations=20, tolerance=2e-3, scales=1),
    "draft": Preset(video_size=256, image_size=384, iterations=150, later_iterations=40, tolerance=2e-3, scales=1),
    "normal": Preset(video_size=384, image_size=512, iterations=200, later_iterations=50, tolerance=1e-3, scales=2),
    "high": Preset(video_size=640, image_size=800, iterations=500, later_iterations=150, tolerance=5e-4, scales=3),
}


@dataclass(frozen=True)
class Job:
    """Everything that shapes a stylized image or video (not where it is read or written).

    ``size`` is the processing long side; ``None`` means the preset's size, capped at the
    source's own size (a small clip is not enlarged unless asked). ``init`` starts a first
    frame: ``content``, ``random`` or the path of an image.
    """

    style: StyleSettings
    size: int | None = None
    quality: QualityName = "normal"
    init: str = "content"
    output_size: OutputSizeName = "processing"
    losses: LossWeights = field(default_factory=LossWeights)
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    temporal: TemporalSettings = field(default_factory=TemporalSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)

    def __post_init__(self) -> None:
        check_choice("--quality", self.quality, QualityName)
        check_choice("--output-size", self.output_size, OutputSizeName)
        if self.size is not None and self.size < 16:
            raise UsageError(f"--size must be at least 16 px; got {self.size}")
        if self.init not in ("content", "random") and not Path(self.init).is_file():
            raise UsageError(f"--init must be content, random or an image file; {self.init!r} is none of these")

    def processing_size(self, width: int, height: int, *, still: bool) -> tuple[int, int]:
        """(width, height) to stylize a source of this size at; even sides for video."""
        preset = PRESETS[self.quality]
        long_side = self.size
        if long_side is None:
            long_side = min(preset.image_size if still else preset.video_size, max(width, height))
        size = fit_long_side(width, height, long_side, even=not still)
        if min(size) < MIN_SIDE:
            raise UsageError(
                f"{size[0]}x{size[1]} is too small to stylize: VGG19 needs at least {MIN_SIDE} px on each side; "
                "raise --size"
            )
        return size


# Flat option names (as the CLI and the Python API spell them) -> (settings group, field).
_OPTION_ROUTES: dict[str, tuple[str, str]] = {
    "style_weights": ("style", "blend"),
    "style_scale": ("style", "scale"),
    "preserve_colors": ("style", "preserve_colors"),
    "content_weight": ("losses", "content"),
    "style_weight": ("losses", "style"),
    "tv_weight": ("losses", "tv"),
    "temporal_weight": ("losses", "temporal"),
    "optimizer": ("optimizer", "optimizer"),
    "iterations": ("optimizer", "iterations"),
    "frame_iterations": ("optimizer", "later_iterations"),
    "tolerance": ("optimizer", "tolerance"),
    "scales": ("optimizer", "scales"),
    "learning_rate": ("optimizer", "learning_rate"),
    "flow": ("temporal", "flow"),
    "flow_preset": ("temporal", "dis_preset"),
    "temporal_init": ("temporal", "init"),
    "long_term": ("temporal", "long_term"),
    "cut_threshold": ("temporal", "cut_threshold"),
    "passes": ("temporal", "passes"),
    "loop": ("temporal", "loop"),
    "chunk_frames": ("temporal", "chunk_frames"),
    "device": ("engine", "device"),
    "precision": ("engine", "precision"),
    "weights": ("engine", "weights"),
    "seed": ("engine", "seed"),
    "edge_margin": ("engine", "edge_margin"),
    "threads": ("engine", "threads"),
    "size": ("job", "size"),
    "quality": ("job", "quality"),
    "init": ("job", "init"),
    "output_size": ("job", "output_size"),
}
JOB_OPTIONS: frozenset[str] = frozenset(_OPTION_ROUTES)


def option_flag(name: str) -> str:
    """The command line's spelling of a flat option name."""
    return {"learning_rate": "--lr"}.get(name, "--" + name.replace("_", "-"))


def option_of_field(group: str, field_name: str) -> str | None:
    """The flag that sets a field of the Job (``("losses", "style")`` -> ``--style-weight``)."""
    for name, route in _OPTION_ROUTES.items():
        if route == (group, field_name):
            return option_flag(name)
    return None


def build_job(styles: tuple[str | Path, ...] | list[str | Path], **options: object) -> Job:
    """A Job from flat options; ``None`` values mean "not given" and leave the default.

    The quality preset fills the optimizer budget and tolerance that were not given.
    """
    unknown = sorted(set(options) - JOB_OPTIONS)
    if unknown:
        raise UsageError(f"unknown option(s): {', '.join(unknown)}")
    groups: dict[str, dict[str, object]] = {
        name: {} for name in ("style", "losses", "optimizer", "temporal", "engine", "job")
    }
    for name, value in options.items():
        if value is None:
            continue
        group, field_name = _OPTION_ROUTES[name]
        groups[group][field_name] = tuple(value) if isinstance(value, list) else value
    quality = groups["job"].get("quality", "normal")
    check_choice("--quality", quality, QualityName)
    preset = PRESETS[quality]  # type: ignore[index]
    for field_name in ("iterations", "later_iterations", "tolerance", "scales"):
        groups["optimizer"].setdefault(field_name, getattr(preset, field_name))
    return Job(
        style=StyleSettings(paths=tuple(Path(p) for p in styles), **groups["style"]),  # type: ignore[arg-type]
        losses=LossWeights(**groups["losses"]),  # type: ignore[arg-type]
        optimizer=OptimizerSettings(**groups["optimizer"]),  # type: ignore[arg-type]
        temporal=TemporalSettings(**groups["temporal"]),  # type: ignore[arg-type]
        engine=EngineSettings(**groups["engine"]),  # type: ignore[arg-type]
        **groups["job"],  # type: ignore[arg-type]
    )

"""Settings as frozen dataclasses: every default and every check of a value.

Fields are validated on construction and raise ``UsageError`` with one clear line naming
the option that sets them (``options.py``), so the CLI and the Python API reject the same
bad values in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from vidstyle.errors import UsageError
from vidstyle.options import CONVERGENCE_WINDOW, PRESETS, QualityName, field_flag
from vidstyle.sizes import fit_long_side
from vidstyle.vgg_layout import LAYER_NAMES, WeightsName

DeviceName = Literal["auto", "cpu", "cuda", "mps"]


PrecisionName = Literal["auto", "fp32", "bf16", "fp16"]


OptimizerName = Literal["lbfgs", "adam"]


TemporalInit = Literal["prev-warped", "prev", "content", "random"]


FlowMethod = Literal["dis", "farneback", "deepflow", "nvof"]


DisPreset = Literal["ultrafast", "fast", "medium", "fine"]


LongTermFlow = Literal["chained", "direct"]


OutputSizeName = Literal["processing", "source"]


DetailName = Literal["on", "off"]


# --size source: paint at the source's own size.
SourceSize = Literal["source"]


X264Preset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]


# --init's words; anything else names an image file.
INIT_MODES = ("content", "random")


# Gatys et al. use relu4_2 for content and relu{1..5}_1 for style.
DEFAULT_CONTENT_LAYER = "relu4_2"


DEFAULT_STYLE_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


# VGG19 pools four times before relu5_1: 16 px become 1.
MIN_SIDE = 16


# Ruder et al. ran up to 100 passes of a few iterations; past 16 a default budget gives each
# pass fewer than 4 iterations, too few for L-BFGS to build its curvature history.
MAX_PASSES = 16


# --chunk-frames: a chunk must hold more than a seam's handover (frame_plan.HANDOVER_FRAMES).
MIN_CHUNK_FRAMES = 24


# Work units painted at once in one process (--units): each holds a copy of the network.
MAX_UNITS = 16


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
            _check_positive(field_flag("losses", name), getattr(self, name), allow_zero=True)
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
    later_iterations: int = 15
    tolerance: float = 1e-3
    window: int = CONVERGENCE_WINDOW
    scales: int = 2
    learning_rate: float = 0.02
    history_size: int = 50

    def __post_init__(self) -> None:
        check_choice(field_flag("optimizer", "optimizer"), self.optimizer, OptimizerName)
        for name in ("iterations", "later_iterations"):
            if getattr(self, name) < 1:
                raise UsageError(f"{field_flag('optimizer', name)} must be at least 1; got {getattr(self, name)}")
        _check_positive(field_flag("optimizer", "tolerance"), self.tolerance, allow_zero=True)
        if self.window < 1:
            raise UsageError("the convergence window must be at least 1 iteration")
        if not 1 <= self.scales <= 4:
            raise UsageError(f"{field_flag('optimizer', 'scales')} must be between 1 and 4; got {self.scales}")
        _check_positive(field_flag("optimizer", "learning_rate"), self.learning_rate)
        if self.history_size < 1:
            raise UsageError("history size must be at least 1")


@dataclass(frozen=True)
class StyleSettings:
    """The painting(s) to imitate and how."""

    paths: tuple[Path, ...]
    blend: tuple[float, ...] = ()
    scale: float = 1.0
    preserve_colors: bool = False
    keep_borders: bool = False

    def __post_init__(self) -> None:
        if not self.paths:
            raise UsageError("at least one style image is needed")
        if self.blend and len(self.blend) != len(self.paths):
            given, images = _count(len(self.blend), "weight"), _count(len(self.paths), "style image")
            raise UsageError(f"{field_flag('style', 'blend')}: {given} for {images}")
        if any(weight < 0 for weight in self.blend) or (self.blend and sum(self.blend) <= 0):
            raise UsageError(f"{field_flag('style', 'blend')} must be zero or more, and not all zero")
        _check_positive(field_flag("style", "scale"), self.scale)

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
    units: int | None = None

    def __post_init__(self) -> None:
        check_choice(field_flag("engine", "device"), self.device, DeviceName)
        if self.threads is not None and self.threads < 1:
            raise UsageError(f"{field_flag('engine', 'threads')} must be at least 1; got {self.threads}")
        if self.units is not None and not 1 <= self.units <= MAX_UNITS:
            raise UsageError(f"{field_flag('engine', 'units')} must be between 1 and {MAX_UNITS}; got {self.units}")
        check_choice(field_flag("engine", "precision"), self.precision, PrecisionName)
        check_choice(field_flag("engine", "weights"), self.weights, WeightsName)
        if not 0 <= self.edge_margin <= 64:
            raise UsageError(
                f"{field_flag('engine', 'edge_margin')} must be between 0 and 64 px; got {self.edge_margin}"
            )


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
    on a CPU, ``DEFAULT_CHUNK_FRAMES`` on a GPU or a cluster).
    """

    flow: FlowMethod = "dis"
    dis_preset: DisPreset = "fine"
    init: TemporalInit = "prev-warped"
    # Ruder et al.'s long-term consistency, on by default since it pays: on pens.mp4 and the
    # 1906 film (benchmarks/bench_shots.py long-term) 1,2,4 cut the warping error between
    # frames 2, 5 and 10 apart by 24-52%, for +2-5% on neighbours, +1% style loss and a few
    # percent of time.
    long_term: tuple[int, ...] = (1, 2, 4)
    # The flow to a neighbour more than one frame away: chained from the consecutive flows
    # (computed anyway), or estimated across the gap (two more DIS flows per neighbour). Chained,
    # each term held where its own chain is reliable (flow.motion.neighbour_masks), it keeps
    # 65-80% of direct flows' gain 4 frames apart for less than half their flow time.
    long_term_flow: LongTermFlow = "chained"
    cut_threshold: float = 0.15
    passes: int = 1
    loop: bool = False
    chunk_frames: int | None = None

    def __post_init__(self) -> None:
        check_choice(field_flag("temporal", "flow"), self.flow, FlowMethod)
        check_choice(field_flag("temporal", "dis_preset"), self.dis_preset, DisPreset)
        check_choice(field_flag("temporal", "init"), self.init, TemporalInit)
        check_choice(field_flag("temporal", "long_term_flow"), self.long_term_flow, LongTermFlow)
        long_term = field_flag("temporal", "long_term")
        if not self.long_term or any(offset < 1 for offset in self.long_term):
            raise UsageError(f"{long_term} offsets must be whole numbers of frames, 1 or more")
        if tuple(sorted(set(self.long_term))) != self.long_term:
            raise UsageError(f"{long_term} offsets must be given in increasing order without repeats")
        if self.long_term[0] != 1:
            # Ruder et al.'s sets always hold the next frame: it is also where a frame starts from.
            raise UsageError(f"{long_term} offsets start at 1, the next frame (e.g. 1,2,4); got {self.long_term}")
        if not 0 <= self.cut_threshold < 1:
            flag = field_flag("temporal", "cut_threshold")
            raise UsageError(f"{flag} must be at least 0 and below 1; got {self.cut_threshold}")
        if not 1 <= self.passes <= MAX_PASSES:
            raise UsageError(
                f"{field_flag('temporal', 'passes')} must be between 1 and {MAX_PASSES}; got {self.passes}"
            )
        if self.chunk_frames not in (None, 0) and not (self.chunk_frames or 0) >= MIN_CHUNK_FRAMES:
            flag, minimum = field_flag("temporal", "chunk_frames"), MIN_CHUNK_FRAMES
            raise UsageError(f"{flag} must be 0 (whole shots) or at least {minimum}; got {self.chunk_frames}")


@dataclass(frozen=True)
class ClusterSettings:
    """Shots rendered as Ray tasks on the cluster that ``address`` names (``local`` starts
    one here, ``auto`` joins a running one, else host:port). Each task's network runs on
    ``cpus_per_task`` threads (None: as many as a render here would use). The thread count
    shapes the sums, so a distributed render equals a render here with as many threads."""

    address: str
    cpus_per_task: int | None = None

    def __post_init__(self) -> None:
        if not self.address.strip():
            raise UsageError(f"{field_flag('cluster', 'address')} needs local, auto or a cluster address")
        if self.cpus_per_task is not None and self.cpus_per_task < 1:
            flag = field_flag("cluster", "cpus_per_task")
            raise UsageError(f"{flag} must be at least 1; got {self.cpus_per_task}")

    def task_threads(self, here: int) -> int:
        """A task's threads, where a render here would use ``here``."""
        return self.cpus_per_task or here


def cluster_settings(address: str | None, cpus_per_task: int | None) -> ClusterSettings | None:
    """The cluster options as given (None: not given); None when shots render here."""
    if address is None:
        if cpus_per_task is not None:
            raise UsageError(f"{field_flag('cluster', 'cpus_per_task')} needs {field_flag('cluster', 'address')}")
        return None
    return ClusterSettings(address, cpus_per_task)


@dataclass(frozen=True)
class EncodeSettings:
    """What the output file gets beyond the frames: the encoder's quality (CRF, None: the
    codec's ``DEFAULT_CRF``) and x264's preset, and whether the source's location tags (a
    phone's GPS position) are kept. They are dropped by default: a stylized video is made to
    be shared."""

    crf: int | None = None
    preset: X264Preset | None = None  # None: x264's medium, or not given for another codec
    keep_location: bool = False

    def __post_init__(self) -> None:
        if self.crf is not None and not 0 <= self.crf <= 63:
            raise UsageError(f"{field_flag('encode', 'crf')} must be between 0 and 63; got {self.crf}")
        if self.preset is not None:
            check_choice(field_flag("encode", "preset"), self.preset, X264Preset)


def encode_settings(crf: int | None, x264_preset: str | None, keep_location: bool | None = None) -> EncodeSettings:
    """The encoder options as given (None: not given, the default)."""
    given = {"crf": crf, "preset": x264_preset, "keep_location": keep_location}
    return EncodeSettings(**{name: value for name, value in given.items() if value is not None})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Job:
    """Everything that shapes a stylized image or video (not where it is read or written).

    ``size`` is the processing long side; ``None`` means the preset's size, capped at the
    source's own size (a small clip is not enlarged unless asked), and ``source`` the source's
    own size. ``output_size`` is the size written: ``None`` means the source's for a video
    (what a video editor, a phone or a web page expects back) and the processing size for an
    image (painted larger already, and looked at on its own). ``init`` starts a first frame:
    ``content``, ``random`` or the path of an image.
    """

    style: StyleSettings
    size: int | SourceSize | None = None
    quality: QualityName = "normal"
    init: str = "content"
    output_size: OutputSizeName | None = None
    detail: DetailName = "on"
    losses: LossWeights = field(default_factory=LossWeights)
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    temporal: TemporalSettings = field(default_factory=TemporalSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)

    def __post_init__(self) -> None:
        check_choice(field_flag("job", "quality"), self.quality, QualityName)
        if self.output_size is not None:
            check_choice(field_flag("job", "output_size"), self.output_size, OutputSizeName)
        check_choice(field_flag("job", "detail"), self.detail, DetailName)
        if isinstance(self.size, str):
            check_choice(field_flag("job", "size"), self.size, SourceSize)
        elif self.size is not None and self.size < MIN_SIDE:
            raise UsageError(f"{field_flag('job', 'size')} must be at least {MIN_SIDE} px or source; got {self.size}")
        if self.init not in INIT_MODES and not Path(self.init).is_file():
            init = field_flag("job", "init")
            raise UsageError(f"{init} must be content, random or an image file; {self.init!r} is none of these")

    def processing_size(self, width: int, height: int, *, still: bool) -> tuple[int, int]:
        """(width, height) to stylize a source of this size at; even sides for video."""
        preset = PRESETS[self.quality]
        long_side = max(width, height) if self.size == "source" else self.size
        if long_side is None:
            long_side = min(preset.image_size if still else preset.video_size, max(width, height))
        size = fit_long_side(width, height, int(long_side), even=not still)
        if min(size) < MIN_SIDE:
            raise UsageError(
                f"{size[0]}x{size[1]} is too small to stylize: VGG19 needs at least {MIN_SIDE} px on each side; "
                f"raise {field_flag('job', 'size')}"
            )
        return size

    def written_size(self, width: int, height: int, *, still: bool) -> tuple[int, int]:
        """(width, height) the result of a source of this (displayed) size is written at."""
        output_size = self.output_size or ("processing" if still else "source")
        return self.processing_size(width, height, still=still) if output_size == "processing" else (width, height)

    def detailed(self, width: int, height: int, *, still: bool) -> bool:
        """Whether a detail pass refines the painted frames at the written size: where that is
        larger than the painted size, unless ``--detail off``."""
        painted = self.processing_size(width, height, still=still)
        written = self.written_size(width, height, still=still)
        return self.detail == "on" and written[0] * written[1] > painted[0] * painted[1]

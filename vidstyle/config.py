"""Settings as frozen dataclasses, and the options that set them. Every default lives here,
every check of a value, and every option's flag, help and API keyword (``OPTIONS``).

Fields are validated on construction and raise ``UsageError`` with one clear line, so the CLI
and the Python API reject the same bad values in the same words.
"""

from __future__ import annotations

import numbers
import os
import types
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from vidstyle.errors import UsageError
from vidstyle.sizes import fit_long_side
from vidstyle.vgg_layout import LAYER_NAMES, WeightsName

DeviceName = Literal["auto", "cpu", "cuda", "mps"]
PrecisionName = Literal["auto", "fp32", "bf16", "fp16"]
OptimizerName = Literal["lbfgs", "adam"]
TemporalInit = Literal["prev-warped", "prev", "content", "random"]
FlowMethod = Literal["dis", "farneback", "deepflow", "nvof"]
DisPreset = Literal["ultrafast", "fast", "medium", "fine"]
LongTermFlow = Literal["chained", "direct"]
QualityName = Literal["preview", "draft", "normal", "high"]
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
# --chunk-frames: a chunk must hold more than a seam's handover (temporal.HANDOVER_FRAMES).
# On a cluster, shots longer than the default are split. Each chunk costs a fresh start and
# each seam 8 re-visits (benchmarks/bench_shots.py chunks): at 200 frames a chunk, about 5% more
# evaluations, and 8 s of 25 fps video per worker.
MIN_CHUNK_FRAMES = 24
# Work units painted at once in one process (--units): each holds a copy of the network.
MAX_UNITS = 16
DEFAULT_CHUNK_FRAMES = 200
# The encoder's quality when --crf is not given, by codec: visually lossless for x264; VP9's
# scale differs, and 31 is its usual recommendation for 1080p.
DEFAULT_CRF: dict[str, int] = {"libx264": 18, "libvpx-vp9": 31}


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
            _check_positive(_flag("losses", name), getattr(self, name), allow_zero=True)
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
    window: int = 10
    scales: int = 2
    learning_rate: float = 0.02
    history_size: int = 50

    def __post_init__(self) -> None:
        check_choice(_flag("optimizer", "optimizer"), self.optimizer, OptimizerName)
        for name in ("iterations", "later_iterations"):
            if getattr(self, name) < 1:
                raise UsageError(f"{_flag('optimizer', name)} must be at least 1; got {getattr(self, name)}")
        _check_positive(_flag("optimizer", "tolerance"), self.tolerance, allow_zero=True)
        if self.window < 1:
            raise UsageError("the convergence window must be at least 1 iteration")
        if not 1 <= self.scales <= 4:
            raise UsageError(f"{_flag('optimizer', 'scales')} must be between 1 and 4; got {self.scales}")
        _check_positive(_flag("optimizer", "learning_rate"), self.learning_rate)
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
            raise UsageError(f"{_flag('style', 'blend')}: {given} for {images}")
        if any(weight < 0 for weight in self.blend) or (self.blend and sum(self.blend) <= 0):
            raise UsageError(f"{_flag('style', 'blend')} must be zero or more, and not all zero")
        _check_positive(_flag("style", "scale"), self.scale)

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
        check_choice(_flag("engine", "device"), self.device, DeviceName)
        if self.threads is not None and self.threads < 1:
            raise UsageError(f"{_flag('engine', 'threads')} must be at least 1; got {self.threads}")
        if self.units is not None and not 1 <= self.units <= MAX_UNITS:
            raise UsageError(f"{_flag('engine', 'units')} must be between 1 and {MAX_UNITS}; got {self.units}")
        check_choice(_flag("engine", "precision"), self.precision, PrecisionName)
        check_choice(_flag("engine", "weights"), self.weights, WeightsName)
        if not 0 <= self.edge_margin <= 64:
            raise UsageError(f"{_flag('engine', 'edge_margin')} must be between 0 and 64 px; got {self.edge_margin}")


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
    # (computed anyway), or estimated across the gap (two more DIS flows per neighbour).
    long_term_flow: LongTermFlow = "chained"
    cut_threshold: float = 0.15
    passes: int = 1
    loop: bool = False
    chunk_frames: int | None = None

    def __post_init__(self) -> None:
        check_choice(_flag("temporal", "flow"), self.flow, FlowMethod)
        check_choice(_flag("temporal", "dis_preset"), self.dis_preset, DisPreset)
        check_choice(_flag("temporal", "init"), self.init, TemporalInit)
        check_choice(_flag("temporal", "long_term_flow"), self.long_term_flow, LongTermFlow)
        long_term = _flag("temporal", "long_term")
        if not self.long_term or any(offset < 1 for offset in self.long_term):
            raise UsageError(f"{long_term} offsets must be whole numbers of frames, 1 or more")
        if tuple(sorted(set(self.long_term))) != self.long_term:
            raise UsageError(f"{long_term} offsets must be given in increasing order without repeats")
        if self.long_term[0] != 1:
            # Ruder et al.'s sets always hold the next frame: it is also where a frame starts from.
            raise UsageError(f"{long_term} offsets start at 1, the next frame (e.g. 1,2,4); got {self.long_term}")
        if not 0 <= self.cut_threshold < 1:
            flag = _flag("temporal", "cut_threshold")
            raise UsageError(f"{flag} must be at least 0 and below 1; got {self.cut_threshold}")
        if not 1 <= self.passes <= MAX_PASSES:
            raise UsageError(f"{_flag('temporal', 'passes')} must be between 1 and {MAX_PASSES}; got {self.passes}")
        if self.chunk_frames not in (None, 0) and not (self.chunk_frames or 0) >= MIN_CHUNK_FRAMES:
            flag, minimum = _flag("temporal", "chunk_frames"), MIN_CHUNK_FRAMES
            raise UsageError(f"{flag} must be 0 (whole shots) or at least {minimum}; got {self.chunk_frames}")


@dataclass(frozen=True)
class ClusterSettings:
    """Shots rendered as Ray tasks on the cluster that ``address`` names (``local`` starts
    one here, ``auto`` joins a running one, else host:port). Does not shape the frames: a
    distributed render equals a local one."""

    address: str
    cpus_per_task: int = 1

    def __post_init__(self) -> None:
        if not self.address.strip():
            raise UsageError(f"{_flag('cluster', 'address')} needs local, auto or a cluster address")
        if self.cpus_per_task < 1:
            flag = _flag("cluster", "cpus_per_task")
            raise UsageError(f"{flag} must be at least 1; got {self.cpus_per_task}")


def cluster_settings(address: str | None, cpus_per_task: int | None) -> ClusterSettings | None:
    """The cluster options as given (None: not given); None when shots render here."""
    if address is None:
        if cpus_per_task is not None:
            raise UsageError(f"{_flag('cluster', 'cpus_per_task')} needs {_flag('cluster', 'address')}")
        return None
    return ClusterSettings(address) if cpus_per_task is None else ClusterSettings(address, cpus_per_task)


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
            raise UsageError(f"{_flag('encode', 'crf')} must be between 0 and 63; got {self.crf}")
        if self.preset is not None:
            check_choice(_flag("encode", "preset"), self.preset, X264Preset)


def encode_settings(crf: int | None, x264_preset: str | None, keep_location: bool | None = None) -> EncodeSettings:
    """The encoder options as given (None: not given, the default)."""
    given = {"crf": crf, "preset": x264_preset, "keep_location": keep_location}
    return EncodeSettings(**{name: value for name, value in given.items() if value is not None})  # type: ignore[arg-type]


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
    "preview": Preset(video_size=128, image_size=256, iterations=80, later_iterations=10, tolerance=2e-3, scales=1),
    "draft": Preset(video_size=256, image_size=384, iterations=150, later_iterations=12, tolerance=2e-3, scales=1),
    "normal": Preset(video_size=384, image_size=512, iterations=200, later_iterations=15, tolerance=1e-3, scales=2),
    "high": Preset(video_size=640, image_size=800, iterations=500, later_iterations=50, tolerance=5e-4, scales=3),
}


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
        check_choice(_flag("job", "quality"), self.quality, QualityName)
        if self.output_size is not None:
            check_choice(_flag("job", "output_size"), self.output_size, OutputSizeName)
        check_choice(_flag("job", "detail"), self.detail, DetailName)
        if isinstance(self.size, str):
            check_choice(_flag("job", "size"), self.size, SourceSize)
        elif self.size is not None and self.size < MIN_SIDE:
            raise UsageError(f"{_flag('job', 'size')} must be at least {MIN_SIDE} px or source; got {self.size}")
        if self.init not in INIT_MODES and not Path(self.init).is_file():
            init = _flag("job", "init")
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
                f"raise {_flag('job', 'size')}"
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


@dataclass(frozen=True)
class Option:
    """One setting as the command line and the Python API name it.

    ``name`` is the API keyword (``stylize_video(frame_iterations=60)``) and, dashed, the flag
    (``--frame-iterations``) unless ``flag`` says otherwise. It sets ``field`` of the settings
    ``group``: that field's type gives the option's type and choices, its default is the
    option's, and its class checks the value. ``section`` places the option in ``--help``;
    ``default`` words a default that is not the field's plain value. A ``video_only`` option
    is refused with an image, in one line that names it: it would do nothing there.
    """

    name: str
    group: str
    field: str
    section: str
    help: str
    metavar: str | None = None
    flag: str | None = None
    default: str | None = None
    video_only: bool = False


SIZE_AND_QUALITY, STYLE, VIDEO, TEMPORAL, ENGINE = (
    "size and quality", "style", "video", "steadiness in time (Ruder et al.)", "engine",
)  # fmt: skip

GROUPS: dict[str, type] = {
    "job": Job,
    "style": StyleSettings,
    "losses": LossWeights,
    "optimizer": OptimizerSettings,
    "temporal": TemporalSettings,
    "engine": EngineSettings,
    "encode": EncodeSettings,
    "cluster": ClusterSettings,
}
# The groups that build_job fills; the others are given to the render beside the Job.
JOB_GROUPS = ("job", "style", "losses", "optimizer", "temporal", "engine")


def _by_quality(field_name: str, unit: str = "") -> str:
    values = ", ".join(f"{name} {getattr(preset, field_name)}{unit}" for name, preset in PRESETS.items())
    return f"by --quality: {values}"


# fmt: off
OPTIONS: tuple[Option, ...] = (
    Option("quality", "job", "quality", SIZE_AND_QUALITY, "preset for size and budget"),
    Option("size", "job", "size", SIZE_AND_QUALITY,
           "the size it is painted at, long side in pixels; source: the input's own size (slow)", "PX|source",
           default=_by_quality("video_size", " px") + " for video; never above the source's"),
    Option("output_size", "job", "output_size", SIZE_AND_QUALITY,
           "the size it is written at: source (the input's displayed size; see --detail) or processing (the "
           "painted size)", default="source for video, processing for images"),
    Option("detail", "job", "detail", SIZE_AND_QUALITY,
           "where the written size is larger than the painted one: on refines each frame there (the painting's "
           "brushwork at that size; at a 4x enlargement it takes longer than the painting itself), off enlarges "
           "with Lanczos (soft at 1:1, no cost)"),
    Option("iterations", "optimizer", "iterations", SIZE_AND_QUALITY,
           "iteration budget of an image or a shot's first frame", "N", default=_by_quality("iterations")),
    Option("frame_iterations", "optimizer", "later_iterations", SIZE_AND_QUALITY,
           "iteration budget of a frame that starts from the previous one", "N",
           default=_by_quality("later_iterations"), video_only=True),
    Option("tolerance", "optimizer", "tolerance", SIZE_AND_QUALITY,
           f"stop once the loss falls by less than this (relative) over {OptimizerSettings.window} iterations; "
           "0 never stops early", "REL", default=_by_quality("tolerance")),
    Option("scales", "optimizer", "scales", SIZE_AND_QUALITY,
           "coarse-to-fine levels for first frames, each half the size of the next; 1 turns it off", "N",
           default=_by_quality("scales")),
    Option("style_weights", "style", "blend", STYLE, "blend of several styles, e.g. 0.7 0.3", "W", default="equal"),
    Option("style_weight", "losses", "style", STYLE, "how strongly the style counts", "W"),
    Option("content_weight", "losses", "content", STYLE, "how strongly the content counts", "W"),
    Option("tv_weight", "losses", "tv", STYLE, "smoothness (total variation) weight", "W"),
    Option("style_scale", "style", "scale", STYLE,
           "size of the brush strokes: the style image is resized to X times the content", "X"),
    Option("preserve_colors", "style", "preserve_colors", STYLE,
           "keep the content's colours: transfer the style on luminance only (Gatys et al. 2016)"),
    Option("keep_style_borders", "style", "keep_borders", STYLE,
           "keep a style image's uniform border (a frame, a mat), which is trimmed by default"),
    Option("init", "job", "init", STYLE, "start of the first frame: content, random, or an image file", "MODE"),
    Option("crf", "encode", "crf", VIDEO, "encoder quality, lower is better", "Q",
           default=", ".join(f"{crf} for {codec}" for codec, crf in DEFAULT_CRF.items()), video_only=True),
    Option("x264_preset", "encode", "preset", VIDEO, "x264's speed preset, for H.264 outputs (for --quality's, see "
           "below)", "NAME", default="medium", video_only=True),
    Option("keep_location", "encode", "keep_location", VIDEO,
           "keep the source's location tags (a phone's GPS position); by default they are dropped", video_only=True),
    Option("ray", "cluster", "address", VIDEO,
           "render shots in parallel on Ray: local (start one here), auto (join a running cluster) or an address",
           "WHERE", default="none, render here", video_only=True),
    Option("ray_cpus_per_task", "cluster", "cpus_per_task", VIDEO, "CPU threads each shot's task gets", "N",
           video_only=True),
    Option("chunk_frames", "temporal", "chunk_frames", VIDEO,
           "split shots longer than N frames into chunks that render in parallel, their seams repaired; "
           "0 whole shots", "N", default=f"{DEFAULT_CHUNK_FRAMES} on a GPU or with --ray, else whole shots",
           video_only=True),
    Option("temporal_weight", "losses", "temporal", TEMPORAL,
           "pull towards the previous frames' warped outputs; 0 turns it off", "W", video_only=True),
    Option("temporal_init", "temporal", "init", TEMPORAL, "start of later frames", video_only=True),
    Option("long_term", "temporal", "long_term", TEMPORAL,
           "neighbouring frames that pull (Ruder et al.'s long-term consistency), e.g. 1,10,20; "
           "1 alone is a little faster and less steady", "OFFSETS", video_only=True),
    Option("long_term_flow", "temporal", "long_term_flow", TEMPORAL,
           "flows to neighbours beyond the next frame: chained from the frame-to-frame ones, or direct (two more "
           "a neighbour; better where something stood in front for a frame or two)", video_only=True),
    Option("flow", "temporal", "flow", TEMPORAL,
           "optical flow: dis (Farneback on flat areas), farneback, deepflow (opencv-contrib), nvof (an NVIDIA "
           "card's engine; torch-nvidia-of-sdk)",
           video_only=True),
    Option("flow_preset", "temporal", "dis_preset", TEMPORAL, "DIS quality", video_only=True),
    Option("cut_threshold", "temporal", "cut_threshold", TEMPORAL,
           "a frame starts a new shot when less than this share of it follows from the last", "FRACTION",
           video_only=True),
    Option("passes", "temporal", "passes", TEMPORAL,
           "Ruder et al.'s multi-pass: N passes over each shot in alternating directions, the same budget "
           "shared out", "N", video_only=True),
    Option("loop", "temporal", "loop", TEMPORAL, "make the last frame flow into the first, for a seamless loop",
           video_only=True),
    Option("optimizer", "optimizer", "optimizer", ENGINE, "lbfgs or adam"),
    Option("learning_rate", "optimizer", "learning_rate", ENGINE, "Adam's learning rate", "RATE", flag="--lr"),
    Option("device", "engine", "device", ENGINE, "auto: CUDA, then MPS, then CPU"),
    Option("precision", "engine", "precision", ENGINE,
           "the network's precision; auto: fp16 on CUDA cards with tensor cores, bf16 on CPUs with native "
           "bf16, else fp32"),
    Option("weights", "engine", "weights", ENGINE, "VGG19 weights: caffe (bundled) or torchvision (downloaded once)"),
    Option("seed", "engine", "seed", ENGINE, "seed for random starts", "N"),
    Option("threads", "engine", "threads", ENGINE,
           "CPU threads for the network and, between frames, the optical flow", "N",
           default="every core this process may use"),
    Option("units", "engine", "units", ENGINE,
           "work units (shots, chunks, seams) painted at once here; the same frames as one at a time", "N",
           default="1 on a CPU; on a GPU up to 4, as memory holds",
           video_only=True),
    Option("edge_margin", "engine", "edge_margin", ENGINE,
           "mirror PX pixels around the picture for the network; 16 removes a faint line along the edges", "PX"),
)
# fmt: on
_OPTIONS_BY_NAME: dict[str, Option] = {option.name: option for option in OPTIONS}
JOB_OPTIONS: frozenset[str] = frozenset(option.name for option in OPTIONS if option.group in JOB_GROUPS)
# Old spellings, each refused in one line that names the new one.
# Old spellings: the new name, and what the line adds about it.
RENAMED_OPTIONS: dict[str, tuple[str, str]] = {
    "preset": ("x264_preset", " (x264's speed); the quality presets are --quality"),
}
# The render's own keywords (not settings of OPTIONS) that only a video has.
VIDEO_ONLY_KEYWORDS = (
    "preview", "start", "duration", "frames", "keep_frames", "restart", "no_cut_detection",
)  # fmt: skip


def renamed_option_error(name: str) -> UsageError:
    """The line for an option given by its old name."""
    new, remark = RENAMED_OPTIONS[name]
    return UsageError(f"--{name.replace('_', '-')} is now {option_flag(new)}{remark}")


def refuse_video_options(given: dict[str, object]) -> None:
    """Raise UsageError, naming them, for video-only options given (not None or False) for an
    image: they would do nothing there, and silence would let the user think they did."""

    def is_given(name: str) -> bool:  # 0 is a value given (--temporal-weight 0); False is a flag not given
        return given.get(name) is not None and given.get(name) is not False

    names = [*VIDEO_ONLY_KEYWORDS, *(option.name for option in OPTIONS if option.video_only)]
    video_only = [name for name in names if is_given(name)]
    if video_only:
        flags = ", ".join(option_flag(name) for name in video_only)
        raise UsageError(f"{flags} only {'applies' if len(video_only) == 1 else 'apply'} to video input")


def option_named(name: str) -> Option:
    return _OPTIONS_BY_NAME[name]


def option_flag(name: str) -> str:
    """The command line's spelling of an option (or of a command-line-only keyword)."""
    option = _OPTIONS_BY_NAME.get(name)
    return option.flag if option is not None and option.flag else "--" + name.replace("_", "-")


def option_of_field(group: str, field_name: str) -> str | None:
    """The flag that sets a settings field (``("losses", "style")`` -> ``--style-weight``)."""
    for option in OPTIONS:
        if (option.group, option.field) == (group, field_name):
            return option_flag(option.name)
    return None


def _flag(group: str, field_name: str) -> str:
    """A field's flag, for check messages (the field's name where no option sets it)."""
    return option_of_field(group, field_name) or field_name


def option_type(option: Option) -> Any:
    """The type of the field an option sets, as annotated (``Literal[...]``, ``int | None`` ...)."""
    return get_type_hints(GROUPS[option.group])[option.field]


# What each annotated type accepts from the Python API (the command line parses its text to
# these first), and its name in a message. numbers' classes take numpy's scalars too.
_API_TYPES: dict[type, tuple[tuple[type, ...], str]] = {
    bool: ((bool,), "True or False"),
    int: ((numbers.Integral,), "a whole number"),
    float: ((numbers.Real,), "a number"),
    str: ((str, os.PathLike), "text"),
}


def check_option_type(option: Option, value: object) -> None:
    """Raise UsageError unless an API value has the option's type: ``size="big"`` is refused
    in one line, as ``--size big`` is, instead of failing somewhere inside."""
    kind, words_too = option_value_type(option)
    if kind is None or value in words_too:
        return  # a closed choice: the settings' own checks name the choices
    items = get_origin(kind) is tuple
    item_kind = get_args(kind)[0] if items else kind
    accepted, words = _API_TYPES[item_kind]

    def fits(item: object) -> bool:
        return isinstance(item, accepted) and (item_kind is bool or not isinstance(item, bool))

    fitting = isinstance(value, (list, tuple)) and all(map(fits, value)) if items else fits(value)
    if not fitting:
        expected = f"a list of {words.removeprefix('a ')}s" if items else words
        expected += "".join(f" or {word}" for word in words_too)
        raise UsageError(f"{option_flag(option.name)} takes {expected}; got {value!r}")


def option_value_type(option: Option) -> tuple[Any, tuple[str, ...]]:
    """The open type of an option's value (None for a closed choice, a ``Literal``), and the
    words it takes besides: ``--size`` takes a whole number or ``source``. None in a union
    is "not given", not a value."""
    kind = option_type(option)
    members = get_args(kind) if get_origin(kind) in (Union, types.UnionType) else (kind,)
    members = tuple(member for member in members if member is not type(None))
    words = tuple(word for member in members if get_origin(member) is Literal for word in get_args(member))
    open_types = [member for member in members if get_origin(member) is not Literal]
    return (open_types[0] if open_types else None), words


def option_choices(option: Option) -> tuple[str, ...]:
    """The values an option takes, where its field's type is a ``Literal`` (or None); else ()."""
    kind, words = option_value_type(option)
    return words if kind is None else ()


def option_default(option: Option) -> Any:
    """The default of the field an option sets (``MISSING`` where it has none)."""
    spec = next(f for f in fields(GROUPS[option.group]) if f.name == option.field)
    if spec.default_factory is not MISSING:
        return spec.default_factory()
    return spec.default


def default_text(option: Option) -> str | None:
    """An option's default in words, for ``--help``; None where there is nothing to say."""
    if option.default is not None:
        return option.default
    value = option_default(option)
    if value is MISSING or value is None or isinstance(value, bool):
        return None
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _refuse_options_that_do_nothing(groups: dict[str, dict[str, object]]) -> None:
    """Raise UsageError for an option given where the rest of the settings leave it nothing
    to do: silence would let the user think it did something."""
    flow = groups["temporal"].get("flow", "dis")
    if "dis_preset" in groups["temporal"] and flow != "dis":
        raise UsageError(f"{_flag('temporal', 'dis_preset')} sets DIS's quality; --flow {flow} has no such setting")
    if "learning_rate" in groups["optimizer"] and groups["optimizer"].get("optimizer", "lbfgs") != "adam":
        raise UsageError(
            f"{_flag('optimizer', 'learning_rate')} is Adam's learning rate; L-BFGS takes steps of its own "
            "(add --optimizer adam to use it)"
        )


def build_job(styles: tuple[str | Path, ...] | list[str | Path], **options: object) -> Job:
    """A Job from flat options; ``None`` values mean "not given" and leave the default.

    The quality preset fills the optimizer budget and tolerance that were not given.
    """
    for name in options.keys() & RENAMED_OPTIONS.keys():
        raise renamed_option_error(name)
    unknown = sorted(set(options) - JOB_OPTIONS)
    if unknown:
        raise UsageError(f"unknown option(s): {', '.join(unknown)}")
    groups: dict[str, dict[str, object]] = {name: {} for name in JOB_GROUPS}
    for name, value in options.items():
        if value is None:
            continue
        option = _OPTIONS_BY_NAME[name]
        check_option_type(option, value)
        if isinstance(value, os.PathLike):  # --init's image file
            value = os.fspath(value)
        groups[option.group][option.field] = tuple(value) if isinstance(value, list) else value
    _refuse_options_that_do_nothing(groups)
    quality = groups["job"].get("quality", "normal")
    check_choice(_flag("job", "quality"), quality, QualityName)
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

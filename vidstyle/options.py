"""The options: each setting's flag, API keyword, help, section and the words for its
default, declared once (``OPTIONS``), and the quality presets. The settings they set, with
their defaults and checks, are ``settings.py``; turning given options into a Job is
``config.py``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vidstyle.errors import UsageError

# Shots longer than this are split into chunks on a GPU or a cluster (--chunk-frames). Each
# chunk costs a fresh start and each seam 8 re-visits (benchmarks/bench_shots.py chunks): at
# 200 frames a chunk, about 5% more evaluations, and 8 s of 25 fps video per worker.
DEFAULT_CHUNK_FRAMES = 200


# The encoder's quality when --crf is not given, by codec: visually lossless for x264; VP9's
# scale differs, and 31 is its usual recommendation for 1080p.
DEFAULT_CRF: dict[str, int] = {"libx264": 18, "libvpx-vp9": 31}


QualityName = Literal["preview", "draft", "normal", "high"]
# The iterations over which a frame's loss must fall by --tolerance to go on.
CONVERGENCE_WINDOW = 10


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
           f"stop once the loss falls by less than this (relative) over {CONVERGENCE_WINDOW} iterations; "
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
    Option("ray_cpus_per_task", "cluster", "cpus_per_task", VIDEO,
           "CPU threads each shot's task gets; the thread count shapes the sums, so the default paints the frames "
           "a render here would", "N", default="the threads a render here uses", video_only=True),
    Option("chunk_frames", "temporal", "chunk_frames", VIDEO,
           "split shots longer than N frames into chunks that render in parallel, their seams repaired; "
           "0 whole shots", "N", default=f"{DEFAULT_CHUNK_FRAMES} on a GPU or with --ray, else whole shots",
           video_only=True),
    Option("temporal_weight", "losses", "temporal", TEMPORAL,
           "pull towards the previous frames' warped outputs; 0 turns it off", "W", video_only=True),
    Option("temporal_init", "temporal", "init", TEMPORAL,
           "start of later frames; content or random paint and deliver each frame on its own "
           "(a per-frame baseline)", video_only=True),
    Option("long_term", "temporal", "long_term", TEMPORAL,
           "neighbouring frames that pull (Ruder et al.'s long-term consistency), e.g. 1,10,20; "
           "1 alone is a little faster and less steady", "OFFSETS", video_only=True),
    Option("long_term_flow", "temporal", "long_term_flow", TEMPORAL,
           "flows to neighbours beyond the next frame: chained from the frame-to-frame ones (no flow of its own; "
           "2/3 of direct's steadiness 4 frames apart at 384 px), or direct (two more flows a neighbour, about 2x "
           "the flow time; better where something stood in front for a frame or two)", video_only=True),
    Option("flow", "temporal", "flow", TEMPORAL,
           "optical flow: dis (Farneback on flat areas), farneback, deepflow (opencv-contrib), nvof (the optical-"
           "flow engine of an NVIDIA card, Turing or later, through the torch-nvidia-of-sdk package built for your "
           "CUDA)",
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


def field_flag(group: str, field_name: str) -> str:
    """A field's flag, for check messages (the field's name where no option sets it)."""
    return option_of_field(group, field_name) or field_name

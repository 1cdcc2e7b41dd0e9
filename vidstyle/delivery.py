"""The painted frames delivered: refined at the written size by the detail pass (or
enlarged), then encoded with the source's timestamps, audio, subtitles and metadata."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from fractions import Fraction

from vidstyle import imageops
from vidstyle.detail_pass import DetailCallback, render_details
from vidstyle.journal import DetailRecord
from vidstyle.kill_points import kill_point
from vidstyle.options import option_flag
from vidstyle.render_setup import PreparedRender
from vidstyle.settings import EncodeSettings
from vidstyle.shot_render import SourceFrames
from vidstyle.shots import ShotPlan
from vidstyle.video_info import stream_metadata, without_location
from vidstyle.video_io import Segment
from vidstyle.video_writer import VideoWriter

log = logging.getLogger(__name__)


def deliver(
    render: PreparedRender, plan: ShotPlan, source: SourceFrames, painted_now: bool, on_detail: DetailCallback | None
) -> list[DetailRecord]:
    """The detail pass over the painted frames, where the render has one (``detail_pass.py``).
    A frame painted in this run (a fresh render, or a shot painted again after damage) makes
    every delivered frame of an earlier run stale."""
    if render.detail is None:
        return []
    if painted_now:
        render.work.journal.forget_details()
    # The flows that carry the delivered frames are measured larger than the painted size.
    flow_frames = SourceFrames(source.path, source.segment, plan, render.detail.flow_size)
    with render.stylizer.backend.running():
        records = render_details(render.work, plan, flow_frames, render.detail, render.job.temporal, on_detail)
    source.decoded += flow_frames.decoded
    return records


def encode_output(render: PreparedRender, segment: Segment, pts: Sequence[int], encode: EncodeSettings) -> None:
    """Encode the saved frames at the written size (delivered by the detail pass, or the
    painted ones enlarged), with the source's timestamps; audio cut to the same segment;
    location tags left out unless ``encode`` keeps them."""
    info, work, output, size = render.info, render.work, render.output, render.written
    cut = segment.start > 0 or segment.duration is not None or segment.frames is not None
    first_time = pts[0] * info.time_base
    origin = first_time if segment.start > 0 else Fraction(0)
    end: Fraction | None = None
    if cut:
        last_time = pts[-1] * info.time_base
        end = (info.start_time + segment.end) if segment.end is not None else last_time + info.frame_interval
    metadata = info.metadata
    if not encode.keep_location:
        metadata = without_location(info.metadata)
        if dropped := sorted(info.metadata.keys() - metadata.keys()):
            log.info(
                "the source's location (%s) is left out of %s; %s keeps it",
                ", ".join(dropped), output.name, option_flag("keep_location"),
            )  # fmt: skip
    load = work.details.load if render.detail is not None else work.load
    with VideoWriter(
        output,
        width=size[0],
        height=size[1],
        time_base=info.time_base,
        frame_rate=info.frame_rate,
        source=info,
        origin=origin,
        end=end,
        encode=encode,
        metadata=metadata,
        stream_metadata=stream_metadata(info.path),
    ) as writer:
        for index, frame_pts in enumerate(pts):
            writer.write(imageops.enlarge_frame(load(index), *size), frame_pts)
            if index == len(pts) // 2:
                kill_point("encoding")

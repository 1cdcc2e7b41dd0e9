"""A work folder's manifest: what it records of the files a render reads (fingerprints), which
of its settings shape the painted frames, and how two manifests differ, in the user's words."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from vidstyle.options import option_of_field

# What earlier versions put in the manifest that does not shape the painted frames: the
# detail pass's size (workdir.DELIVERED_NAME now) and --detail. A folder of theirs still resumes.
NOT_THE_PAINTINGS = ("delivered", "job.detail")

# Bumped by every change that makes a render paint other frames from the same settings and
# files; a work folder of another format is not resumed (mixing two looks in one video). A new
# vidstyle version that paints the same resumes, with the setup's warning.
FRAME_FORMAT = 3  # 2: the detail pass (0.4.0); 3: chained long-term terms with their own masks (0.5.0)
# A video is fingerprinted by its size and this many blocks spread over it: a replaced or
# re-encoded file differs in them, and a 4 GB clip is read in milliseconds, not a minute.
_SAMPLED_BLOCKS, _BLOCK_BYTES = 64, 64 * 1024


def content_fingerprint(path: Path, *, whole: bool = False) -> dict[str, Any]:
    """The size and a SHA-256 of a file's content (``whole``) or of blocks spread over it: the
    same for the file moved, copied or touched, and different for another file. Its path and
    time were used before, and a moved clip or a copied work folder could not resume."""
    size = path.stat().st_size
    digest = hashlib.sha256()
    with path.open("rb") as file:
        if whole or size <= _SAMPLED_BLOCKS * _BLOCK_BYTES:
            digest.update(file.read())
        else:
            for block in range(_SAMPLED_BLOCKS):
                file.seek(block * (size - _BLOCK_BYTES) // (_SAMPLED_BLOCKS - 1))
                digest.update(file.read(_BLOCK_BYTES))
    return {"bytes": size, "sha256": digest.hexdigest()}


_MANIFEST_PARTS = {
    "frame_format": "the frame format (this vidstyle paints differently)",
    "vidstyle": "the vidstyle version",
    "source": "the source video",
    "segment": "--start/--duration/--frames",
    "size": "the frame size",
    "device": "--device",
    "precision": "--precision",
    "reading": "how the source's frames are read",
}


def _setting_name(key: str) -> tuple[str, bool]:
    """A manifest key as the user knows it (``job.losses.style`` -> ``--style-weight``), and
    whether its values mean something to them (a file's size and time do not)."""
    parts = key.split(".")
    if parts[0] == "job" and len(parts) > 1:
        if parts[1] == "style" and parts[2:3] == ["paths"]:
            return "the style image", False
        option = option_of_field(*parts[1:3]) if len(parts) > 2 else option_of_field("job", parts[1])
        return (option, True) if option else (key, True)
    name = _MANIFEST_PARTS.get(parts[0], key)
    return name, parts[0] not in ("source", "vidstyle", "frame_format")


def painting_part(manifest: dict[str, Any]) -> dict[str, Any]:
    """A manifest's settings that shape the painted frames, flattened (``NOT_THE_PAINTINGS`` left out)."""
    return {key: value for key, value in _flatten(manifest).items() if key.rstrip(".") not in NOT_THE_PAINTINGS}


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value}


def changed_settings(saved: dict[str, Any], wanted: dict[str, Any]) -> str:
    """What differs between two manifests' painting parts, as the user knows it (three at most)."""
    old, new = painting_part(saved), painting_part(wanted)
    changed: dict[str, str] = {}  # what the user would call each changed setting -> how it changed
    for key in sorted(old.keys() | new.keys()):
        if old.get(key) != new.get(key):
            name, is_option = _setting_name(key)
            changed.setdefault(name, f"{name}: {old.get(key)} -> {new.get(key)}" if is_option else name)
    shown = ", ".join(list(changed.values())[:3])
    more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
    return shown + more

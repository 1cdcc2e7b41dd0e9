"""User-facing errors: each carries one clear line that the CLI prints as is."""

from __future__ import annotations


class VidstyleError(Exception):
    """Base of every error that a user can cause and fix; the CLI exits 1 on it."""

    exit_code = 1


class UsageError(VidstyleError):
    """A bad option value or a combination of options that cannot work (exit 2)."""

    exit_code = 2


class InputFileError(VidstyleError):
    """A file to read is missing, unreadable, or not what it should be."""


class NotMediaError(InputFileError):
    """The file is not an image or video that we can decode."""


class NoVideoStreamError(InputFileError):
    """The container has no video stream."""


class NoFramesError(InputFileError):
    """The video stream holds no decodable frame."""


class OutputExistsError(VidstyleError):
    """The output exists and --overwrite was not given."""


class OutputPathError(VidstyleError):
    """The output cannot be written where asked (permissions, same as input, bad extension)."""


class WeightsError(VidstyleError):
    """The VGG19 weights cannot be loaded."""


class DeviceError(VidstyleError):
    """The requested device is not available, or the frame does not fit in its memory."""


class ResumeMismatchError(VidstyleError):
    """A work directory holds frames rendered with other settings."""

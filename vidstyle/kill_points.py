"""Named points in a render where a test can kill it, as a power cut or SIGKILL would, to
prove that a render resumes from anywhere. Internal, for tests only: nothing happens unless
the environment sets ``VIDSTYLE_KILL_AT`` to a point's name.

The points, in a render's order: ``planned`` (the shot plan saved), ``saving:N`` (frame N's
PNG in place, its journal line not yet written), ``encoding`` (half the frames encoded into
the temporary output), ``cleanup`` (the output in place, the work folder not yet removed).
"""

from __future__ import annotations

import os
import signal

KILL_AT_VARIABLE = "VIDSTYLE_KILL_AT"


def kill_point(name: str) -> None:
    """Kill this process at once, without any clean-up, if the environment names this point."""
    if os.environ.get(KILL_AT_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)

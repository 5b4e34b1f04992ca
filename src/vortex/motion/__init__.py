"""Motion stage: phones + expressions + seed -> ``Controls`` (one row of named channels per frame)."""

from vortex.motion.controls import CHANNELS, Controls

__all__ = ["CHANNELS", "Controls"]

"""Actor stage: a prompt or a photo -> ``Portrait`` (image, 68 canonical landmarks, face box)."""

from vortex.actors.portrait import LANDMARK_GROUPS, Portrait

__all__ = ["LANDMARK_GROUPS", "Portrait"]

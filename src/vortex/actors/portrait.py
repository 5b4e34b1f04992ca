"""The actor contract: an image and landmarks precise enough to animate.

Landmarks follow the 68-point iBUG 300-W order, which every face tool of this field reads:
jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, outer lips 48-59, inner lips 60-67.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LANDMARK_GROUPS: dict[str, tuple[int, int]] = {
    "jaw": (0, 17),
    "brow_right": (17, 22),
    "brow_left": (22, 27),
    "nose": (27, 36),
    "eye_right": (36, 42),
    "eye_left": (42, 48),
    "lips_outer": (48, 60),
    "lips_inner": (60, 68),
}
"""Half-open index ranges; "right"/"left" are the subject's, as in iBUG (image-left is subject-right)."""


@dataclass(frozen=True)
class Portrait:
    """An actor ready to animate.

    image: uint8 [H, W, 3] RGB, square.
    landmarks: float32 [68, 2] pixel (x, y) in iBUG order; lips closed at rest.
    face_box: (x0, y0, x1, y1) pixels.
    mesh: float32 [478, 3] mediapipe face-mesh points (x, y in pixels, z relative) when the
        source gives one (photo actors), else None.
    source: "procedural", "photo" or "flux"; ``details`` records prompt/seed/path and any
        layer information the source knows (e.g. procedural lip and skin colours).
    warnings: notes for the user; a slot reports them in ``SlotResult.warnings``.
    """

    image: np.ndarray
    landmarks: np.ndarray
    face_box: tuple[float, float, float, float]
    source: str
    mesh: np.ndarray | None = None
    details: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    """What the user should hear about how the actor was made (a rotated photo, extra faces...)."""

    @property
    def size(self) -> int:
        return int(self.image.shape[0])

    def group(self, name: str) -> np.ndarray:
        start, stop = LANDMARK_GROUPS[name]
        return self.landmarks[start:stop]

"""The contract between motion planning and every animator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHANNELS: tuple[str, ...] = (
    "jaw_open",     # 0 closed .. 1 widest; drives lip parting and the mouth interior
    "mouth_wide",   # 0..1 lip corners pulled out (ee, s)
    "mouth_round",  # 0..1 lips rounded / protruded (oo, w)
    "lip_press",    # 0..1 lips pressed shut (p, b, m); overrides jaw_open for the lips
    "smile",        # -1 frown .. 1 smile
    "blink_l",      # 0 open .. 1 closed, subject's left eye
    "blink_r",      # 0 open .. 1 closed, subject's right eye
    "eye_wide",     # -1 squint .. 1 wide
    "brow_up",      # -1 frown .. 1 raised
    "head_yaw",     # degrees, + turns to the subject's left
    "head_pitch",   # degrees, + nods down
    "head_roll",    # degrees, + tilts clockwise in the image
    "head_dx",      # fraction of image width
    "head_dy",      # fraction of image height
    "gaze_x",       # -1..1 eyes look image-left .. image-right
    "gaze_y",       # -1..1 eyes look up .. down
)
CHANNEL_INDEX = {name: i for i, name in enumerate(CHANNELS)}


@dataclass(frozen=True)
class Controls:
    """values: float32 [T, K] with K == len(CHANNELS), one row per video frame at ``fps``."""

    values: np.ndarray
    fps: int

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or self.values.shape[1] != len(CHANNELS):
            raise ValueError(f"Controls need [T, {len(CHANNELS)}] values, got {self.values.shape}")

    @property
    def frames(self) -> int:
        return int(self.values.shape[0])

    def channel(self, name: str) -> np.ndarray:
        return self.values[:, CHANNEL_INDEX[name]]

    @classmethod
    def zeros(cls, frames: int, fps: int) -> "Controls":
        return cls(np.zeros((frames, len(CHANNELS)), np.float32), fps)

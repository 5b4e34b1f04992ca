"""``SlotResult``: what one slot produced (paths, audio, frames, timings, memory, backends) or why it failed."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vortex.config import SAMPLE_RATE
from vortex.errors import VortexError


@dataclass(frozen=True)
class SlotWarning:
    """Something the user should know about a slot that still succeeded, and the stage that said it."""

    stage: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class SlotResult:
    """What one slot produced, or why it failed.

    audio: float32 [frames * sample_rate / fps] mono, exactly the track in the MP4.
    frames_buffer: the float32 [T, 3, H, W] buffer in [0, 1] when one was given or asked for.
    timings: seconds per stage. The stages overlap (speech chunk by chunk, motion as rows become
    final, frames as soon as their rows are, sinks as frames come), so these are each stage's
    busy time: ``speech`` (synthesis), ``actor``, ``prepare`` (the animator's per-portrait
    setup), ``motion`` (planning), ``animation`` (rendering), ``encode`` (sinks); plus wall
    times: ``first_frame`` (request to the first frame in the sinks), ``render_encode`` (first
    frame to the last), ``total``; and ``load_*`` for backends loaded during this slot.
    warnings: the messages of ``warning_details`` (each with the stage that raised it).
    """

    slot_id: str
    success: bool
    error: str | None = None
    error_type: str | None = None
    exit_code: int = 0
    output: str | None = None
    frames_dir: str | None = None
    hls_playlist: str | None = None
    """The HLS media playlist (``index.m3u8`` in the ``hls_dir`` folder) when one was asked for."""
    report: str | None = None
    frames: int = 0
    fps: int = 0
    size: int = 0
    duration_sec: float = 0.0
    speech_duration_sec: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0
    peak_vram_mb: float | None = None
    warnings: tuple[str, ...] = ()
    warning_details: tuple[SlotWarning, ...] = ()
    backends: dict[str, str] = field(default_factory=dict)
    """Backend name per stage (speech, actor, animator)."""
    backend_reasons: dict[str, str] = field(default_factory=dict)
    """Why each stage's backend was chosen (requested, found, or the fallback and what was missing)."""
    device: str = ""
    seed: int = 0
    recipe: dict | None = None
    audio: np.ndarray | None = field(default=None, repr=False)
    sample_rate: int = SAMPLE_RATE
    frames_buffer: np.ndarray | None = field(default=None, repr=False)
    exception: BaseException | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        """JSON-ready summary (arrays and the exception object left out)."""
        return {
            "slot_id": self.slot_id,
            "success": self.success,
            "error": self.error,
            "error_type": self.error_type,
            "exit_code": self.exit_code,
            "output": self.output,
            "frames_dir": self.frames_dir,
            "hls_playlist": self.hls_playlist,
            "frames": self.frames,
            "fps": self.fps,
            "size": self.size,
            "duration_sec": self.duration_sec,
            "speech_duration_sec": self.speech_duration_sec,
            "sample_rate": self.sample_rate,
            "timings": self.timings,
            "peak_rss_mb": self.peak_rss_mb,
            "peak_vram_mb": self.peak_vram_mb,
            "warnings": list(self.warnings),
            "warning_details": [{"stage": w.stage, "message": w.message} for w in self.warning_details],
            "backends": self.backends,
            "backend_reasons": self.backend_reasons,
            "device": self.device,
            "seed": self.seed,
            "recipe": self.recipe,
        }

    def raise_for_error(self) -> "SlotResult":
        """Re-raise the failure (typed, so the CLI maps it to its exit code); else return self."""
        if not self.success:
            if self.exception is not None:
                raise self.exception
            raise VortexError(self.error or "slot failed")
        return self

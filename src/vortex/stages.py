"""The stage interfaces, in one place: what a speech engine, an actor, an animator and a sink are.

Every backend of ``vortex.backends`` implements one of these Protocols, and the slot engine
(``vortex.pipeline``) only ever talks to a backend through them, so adding a backend is one
registry entry plus a class that has these methods. Data between stages is the typed values of
each stage package (``Speech``, ``Portrait``, ``Controls``, uint8 frame chunks).

    speech engine ─► Speech (waveform + phone timeline), also chunk by chunk (``SpeechChunk``)
    actor         ─► Portrait
    animator      ─► frames (uint8 [n, H, W, 3] chunks) from a Portrait and Controls
    sinks         ◄─ frames and audio, as they come
"""

from __future__ import annotations

from typing import Iterator, Protocol, runtime_checkable

import numpy as np

from vortex.actors.portrait import Portrait
from vortex.motion.controls import Controls
from vortex.progress import Progress
from vortex.speech.speech import Speech


@runtime_checkable
class SpeechEngine(Protocol):
    """Text -> ``Speech`` (24 kHz mono float32 waveform and its exact phone timeline)."""

    name: str

    def synthesize(self, text: str, voice: str, speed: float = 1.0, emotion: str = "neutral",
                   progress: Progress | None = None) -> Speech:
        """The whole script at once (raises InvalidInputError for bad text, voice, emotion, speed)."""
        ...


@runtime_checkable
class Actor(Protocol):
    """A description (prompt) and a seed -> a ``Portrait`` of ``size`` pixels."""

    name: str

    def __call__(self, description: str, seed: int = 0, size: int | None = None) -> Portrait:
        ...


@runtime_checkable
class Animator(Protocol):
    """A ``Portrait`` and a ``Controls`` track -> frames, in order, chunk by chunk."""

    name: str

    def prepare(self, portrait: Portrait) -> None:
        """Build the per-portrait state now (a slot does it beside speech, off the first frame's
        path); kept for the last portrait seen, so ``frames`` of that portrait reuses it."""
        ...

    def frames(self, portrait: Portrait, controls: Controls, chunk: int = 24) -> Iterator[np.ndarray]:
        """Yield uint8 [n, H, W, 3] chunks covering all ``controls.frames`` frames in order."""
        ...

    def render_into(self, portrait: Portrait, controls: Controls, buffer: np.ndarray) -> None:
        """Write every frame into a caller's float32 [T, 3, H, W] buffer in [0, 1], in place."""
        ...


@runtime_checkable
class FrameSink(Protocol):
    """An output of a slot: frames and audio in as they come; published on ``close``.

    ``abort`` removes everything written (a failed, timed-out or cancelled slot leaves nothing).
    Every sink takes audio the same way (``write_audio``, pieces in order, before, between or
    after their frames); those that hold none (PNG frames, the float buffer) ignore it. The sinks
    are in ``vortex.media``: ``Mp4Writer``, ``HlsSink``, ``PngFramesSink``, ``BufferSink``.
    """

    frames_written: int

    def write(self, chunk: np.ndarray) -> None:
        """uint8 [n, H, W, 3] RGB frames, the next ones in order."""
        ...

    def write_audio(self, samples: np.ndarray) -> None:
        """float32 mono samples at the slot's rate, the next ones in order."""
        ...

    def close(self) -> object:
        ...

    def abort(self) -> None:
        ...

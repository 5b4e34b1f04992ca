"""Shared fixtures for the pipeline tests: one resident pipeline, real speech, and an MP4 probe."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def pipeline():
    """One resident pipeline for every in-process slot (backends load once, as in a server)."""
    from vortex.pipeline import VortexPipeline

    # The embedded backends, pinned, so these tests mean the same with official weights present.
    return VortexPipeline(animator="warp", actor="procedural", speech="kokoro-onnx").load()


@pytest.fixture(scope="session")
def spoken(pipeline):
    """Real Kokoro speech of a short sentence (about 2 s), synthesized once."""
    return pipeline.speech_backend("rick_c137").synthesize("Hello Morty, big science today.", "rick_c137")


@dataclass(frozen=True)
class Probe:
    """What an independent decoder (PyAV, straight from the container) says about an MP4."""

    video_codec: str
    pix_fmt: str
    width: int
    height: int
    fps: float
    frames: int
    video_duration: float
    audio_codec: str
    audio_rate: int
    audio_channels: int
    audio_duration: float


@pytest.fixture
def probe_mp4():
    return probe


def probe(path: str | Path) -> Probe:
    import av

    with av.open(str(path)) as container:
        v = container.streams.video[0]
        a = container.streams.audio[0]
        frames = sum(1 for _ in container.decode(v))
        return Probe(
            video_codec=v.codec_context.name,
            pix_fmt=v.codec_context.pix_fmt,
            width=v.codec_context.width,
            height=v.codec_context.height,
            fps=float(v.average_rate),
            frames=frames,
            video_duration=float(v.duration * v.time_base),
            audio_codec=a.codec_context.name,
            audio_rate=a.codec_context.sample_rate,
            audio_channels=a.codec_context.channels,
            audio_duration=float(a.duration * a.time_base),
        )


@pytest.fixture
def leftovers():
    """Everything under a folder, hidden partial files included (what an aborted run left)."""
    return lambda folder: sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))

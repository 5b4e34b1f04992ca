"""The slot pipeline: a recipe in, a finished slot out.

``VortexPipeline`` loads its backends once (the Kokoro session, the animator) and keeps them
resident across slots. ``await pipeline.generate_slot(recipe, ...)``:

1. speech runs concurrently with the actor and the animator's per-portrait setup (threads;
   ONNX Runtime, Skia and OpenCV release the GIL);
2. the slot length is settled: ``auto`` is the speech plus ``TAIL_SEC``, rounded up to whole
   frames; a fixed length pads with silence (the face idles) or truncates at a word boundary
   with a warning, and refuses speech that overruns by more than ``MAX_OVERRUN`` of the slot;
3. motion turns the phone timeline into Controls;
4. the animator renders chunks on one thread while the sinks (MP4, PNG frames, the caller's
   float32 buffer) consume them on another, so rendering and encoding overlap and no full
   video is ever held in memory.

Every stage runs under its timeout and the slot's deadline; transient failures are retried
with backoff; a timeout, the deadline or Ctrl-C stops the sinks, which remove their partial
files. The result carries per-stage timings, peak memory, warnings, success and the error.

``animate(source_image, driving_audio, ...)`` is the compatibility call in the shape of the
original animator contract (image tensor and 24 kHz waveform in, frame tensor out).

Backends per stage are chosen once, when the pipeline is built (``vortex.backends``: the
production model when its files, packages and a GPU are there, else the embedded one), and
each slot's result says which it used and why (``backends``, ``backend_reasons``).

Modules: ``core`` (VortexPipeline), ``result`` (SlotResult), ``duration`` (slot length, padding
and truncation), ``streaming`` (stoppable progress, render prefetch), ``stages`` (stage helpers),
``user_audio`` (recordings -> Speech), ``compat`` (animate).
"""

from vortex.pipeline.compat import animate, default_pipeline
from vortex.pipeline.core import ACTORS, ANIMATORS, CHUNK_FRAMES, SPEECH_ENGINES, VortexPipeline
from vortex.pipeline.duration import (
    FADE_SEC,
    FAST_CHARS_PER_SEC,
    MAX_OVERRUN,
    TAIL_SEC,
    auto_frames,
    check_script_length,
    fit_speech,
    samples_for,
)
from vortex.pipeline.result import SlotResult
from vortex.pipeline.stages import _typed as _typed  # the CLI-facing error typing, for tests
from vortex.pipeline.user_audio import TIMELINE_SOURCES

__all__ = [
    "ACTORS",
    "ANIMATORS",
    "CHUNK_FRAMES",
    "FADE_SEC",
    "FAST_CHARS_PER_SEC",
    "MAX_OVERRUN",
    "SPEECH_ENGINES",
    "TAIL_SEC",
    "TIMELINE_SOURCES",
    "SlotResult",
    "VortexPipeline",
    "animate",
    "auto_frames",
    "check_script_length",
    "default_pipeline",
    "fit_speech",
    "samples_for",
]

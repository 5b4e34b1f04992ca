"""The slot pipeline: a recipe in, a finished slot out, every stage busy at once.

``VortexPipeline`` loads its backends once (chosen in ``vortex.backends``) and keeps them
resident across slots. ``await pipeline.generate_slot(recipe, ...)`` (or ``generate`` with a
typed ``SlotRequest``) runs one ``SlotRun``, whose named steps are:

1. ``check_inputs``: the recipe and request, before any work;
2. ``open_speech``: the script as a stream of chunks (sentence by sentence), each with its exact
   phone timeline; a recording is one chunk;
3. ``cast_actor`` and 4. ``prepare_animator``, concurrently with speech;
5. ``speak_and_plan``: after each chunk, the slot's audio and the Controls rows that no later
   chunk can change (``vortex.motion.MotionStream``: exactly the lookahead each row needs, so
   the rows are bit-identical to planning the whole timeline); a fixed slot pads or cuts the
   speech as it arrives (``SlotTimeline``); an ``auto`` slot ends 0.5 s after its last word;
6. ``render_frames``: frames as soon as their rows are final;
7. ``write_sinks``: audio and frames into the MP4, HLS, PNG and buffer sinks as they come,
   published only when the slot is complete;
8. ``make_result``: ``SlotResult`` (timings per stage, first-frame time, peak memory, typed
   warnings, backends and why).

Every stage runs under its timeout and the slot's deadline; a timeout, the deadline, the
request's ``cancel`` event or Ctrl-C stops all of them at their next chunk and the sinks remove
their partial files. Same recipe + seed -> identical MP4 bytes, whatever the timing.

``animate(source_image, driving_audio, ...)`` is the compatibility call in the shape of the
original animator contract (image tensor and 24 kHz waveform in, frame tensor out).

Modules: ``core`` (VortexPipeline), ``request`` (SlotRequest, SlotProgress), ``run`` (SlotRun),
``result`` (SlotResult, SlotWarning), ``duration`` (slot length, padding and truncation, also
while speech streams), ``streaming`` (stoppable progress and queues), ``stages`` (step helpers),
``user_audio`` (recordings -> Speech), ``compat`` (animate).
"""

from vortex.pipeline.compat import animate, default_pipeline
from vortex.pipeline.core import ACTORS, ANIMATORS, CHUNK_FRAMES, SPEECH_ENGINES, VortexPipeline
from vortex.pipeline.request import SlotInputs, SlotProgress, SlotRequest
from vortex.pipeline.duration import (
    FADE_SEC,
    FAST_CHARS_PER_SEC,
    MAX_OVERRUN,
    TAIL_SEC,
    auto_frames,
    check_script_length,
    SlotTimeline,
    fit_speech,
    samples_for,
)
from vortex.pipeline.result import SlotResult, SlotWarning
from vortex.pipeline.run import SlotRun
from vortex.pipeline.stages import typed_error
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
    "SlotInputs",
    "SlotProgress",
    "SlotRequest",
    "SlotResult",
    "SlotRun",
    "SlotTimeline",
    "SlotWarning",
    "VortexPipeline",
    "animate",
    "auto_frames",
    "check_script_length",
    "default_pipeline",
    "fit_speech",
    "samples_for",
    "typed_error",
]

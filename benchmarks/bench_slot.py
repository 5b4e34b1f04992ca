"""A whole slot end to end, the pipelined engine against the staged flow it replaced, in one run.

The full run is the network's slot: 45 s at 24 fps (1080 frames), 512x512, a script that fills
about 40 s with speech, a procedural actor and an expression sequence. ``--quick`` makes a
10-second slot; ``--voice V`` speaks it in V (default ``rick_c137``, a Kokoro voice; ``heart``,
the default voice, runs on hibari). Backends load once and stay resident, as in a server.
Printed (JSON):

- ``pipelined``, ``pipelined_opencv_pool`` (the same slot with OpenCV's own thread pool on, as
  before the engine turned it off: its threads spin-wait between calls),
  ``pipelined_one_render_worker`` (the same slot rendering one frame at a time,
  as the engine did before two render workers) and ``staged`` (the same slot made stage by stage: all speech ∥ actor, then all
  motion, then rendering ∥ encoding, as the engine did before; built here from the public
  pieces, it is no engine of its own): wall seconds, wall / slot length, time to the first
  encoded frame after the request, CPU seconds of the process and CPU utilisation
  CPU-s / (cores x wall), and whether all four MP4s have the same bytes; the first two also
  ``threads`` (``ThreadCpu``): CPU-s by what each thread does (speech and motion, prepare,
  render, YUV + muxing + AAC, native x264 threads, ...) and the utilisation before the first
  frame, while frames render and after the last one is rendered (the encoder's tail), which
  say where cores idle on a quiet machine;
- ``per_frame_cpu_ms``: rendering and encoding measured apart (CPU time of the process while
  only that runs, 240 frames at 512 px): rendering with two workers, with one and with
  OpenCV's pool on, encoding an
  MP4 alone and an MP4 + HLS pair with one YUV conversion per frame and with one per sink;
- ``first_frame_by_voice``: time from the request to the first encoded frame of the 45-s slot
  for one voice of each embedded speech backend (``heart`` on hibari, ``rick_c137`` on the int8
  Kokoro ONNX model), the slot cancelled once that frame is in the sink; ``--repeats`` runs each
  (default 3; 0 skips it), the median reported (also in ``headline``). For Kokoro the same slot is also run with its first chunk a
  whole sentence (``first_phrase=False``, the engine before the first-phrase chunk), alternating
  with the shipped rule, so their ratio is measured under the same load; each also as the
  process's CPU seconds to that frame (``*_cpu_s``), which the neighbours do not inflate. ``--first-frame``
  prints only this (and the machine), for a quick re-run;
- ``memory`` (``--slots N``, default 20 quick slots, 3 with ``--quick``; 0 skips it): peak RSS of each of N slots
  made one after another in this process, to see it stay flat;
- the machine: cores, load averages before and after (on a shared machine the wall times
  measure the neighbours; CPU times what the slot itself costs).

Targets (issue 11, a quiet 2-core machine): first frame <= 1.0 s, utilisation >= 0.92, peak RSS
<= 1 GB flat over 20 slots, wall <= 0.35 x the slot's length.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, peak_rss_mb  # noqa: E402

SCRIPT = (
    "Listen up, Morty, because I am only going to say this once. Science is not about why, it is about why not. "
    "Every time you ask a question, the universe gets a little bit bigger and a little bit stranger. "
    "Today we are going to build a portal gun out of a toaster, two spoons and a very confused hamster. "
    "Great, now we have to go to dimension thirty five C and apologise to a sentient pizza. "
    "That is the thing about science, Morty. Sometimes it explodes, and sometimes it orders takeout."
)
QUICK_SCRIPT = "Listen up, Morty. Science is not about why, it is about why not. Pack a sandwich, we leave in five minutes."
TARGETS = {"first_frame_s": 1.0, "cpu_utilisation": 0.92, "peak_rss_mb": 1024.0, "wall_per_slot_s": 0.35}
CORES = 2


def recipe(quick: bool, seed: int = 1, voice: str = "rick_c137") -> dict:
    return {
        "slot_id": "bench",
        "audio_track": {"script": QUICK_SCRIPT if quick else SCRIPT, "voice_id": voice},
        "visual_track": {"prompt": "old scientist, grey spiky hair, lab coat, laboratory",
                         "expression_sequence": ["neutral", "excited", "manic", "calm"]},
        "slot": {"duration_sec": 10 if quick else 45, "fps": 24, "size": 512, "seed": seed},
    }


ROLES = (("vortex-speech", "speech_and_motion"), ("vortex-actor", "actor"), ("vortex-load", "actor"),
         ("vortex-prepare", "prepare"), ("vortex-animation", "render"), ("warp", "render"),
         ("vortex-sinks", "yuv_mux_aac"), ("vortex-rss", "rss_sampler"), ("MainThread", "event_loop"))
"""Python thread name prefixes -> what the thread does. Threads with no Python name are native:
x264's encoder threads (and OpenCV's pool or ONNX Runtime's intra-op threads where those are on)."""


class ThreadCpu:
    """CPU time of each thread of this process over one slot, read from
    ``/proc/self/task/*/schedstat`` every ``interval`` s and grouped by ``ROLES``, plus the
    process's utilisation before the first frame, while frames render, and after the last one
    (the encoder's tail). Its own thread's CPU is reported apart and left out of the rest."""

    def __init__(self, interval: float = 0.05) -> None:
        import threading

        self.interval, self.samples, self.names = interval, [], {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)

    @staticmethod
    def _read() -> dict[int, float]:
        cpu = {}
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/schedstat") as fh:
                    cpu[int(tid)] = int(fh.read().split()[0]) / 1e9
            except (OSError, ValueError, IndexError):
                pass  # the thread ended
        return cpu

    def _loop(self) -> None:
        import threading

        while True:
            self.names.update({t.native_id: t.name for t in threading.enumerate() if t.native_id})
            self.samples.append((time.perf_counter(), time.process_time(), self._read()))
            if self._stop.wait(self.interval):
                break

    def __enter__(self) -> "ThreadCpu":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def role(self, tid: int) -> str:
        name = self.names.get(tid)
        if name is None:
            return "native"
        return next((role for prefix, role in ROLES if name.startswith(prefix)), "other")

    def summary(self, start: float, first_frame_s: float | None) -> dict:
        (t0, c0, first), (t1, c1, _) = self.samples[0], self.samples[-1]
        seen: dict[int, float] = {}  # each thread's CPU in the run: last reading - first (0 if new)
        render_end, previous_render, previous_at = t0, 0.0, t0
        for at, _, cpu in self.samples:
            for tid, value in cpu.items():
                seen[tid] = value - first.get(tid, 0.0)
            render = sum(v for tid, v in seen.items() if self.role(tid) == "render")
            # Rendering: a quarter of a core or more (a renderer waiting on a full queue polls it).
            if render - previous_render >= 0.25 * (at - previous_at):
                render_end = at
            previous_render, previous_at = render, at
        own = seen.pop(self._thread.native_id, 0.0)
        roles: dict[str, float] = {}
        for tid, value in seen.items():
            roles[self.role(tid)] = roles.get(self.role(tid), 0.0) + value
        process = c1 - c0 - own
        roles["ended_threads"] = process - sum(roles.values())  # threads that ended between two readings

        def utilisation(a: float, b: float) -> float | None:
            inside = [(at, cpu) for at, cpu, _ in self.samples if a <= at <= b]
            if len(inside) < 2 or inside[-1][0] - inside[0][0] <= 0:
                return None
            return round((inside[-1][1] - inside[0][1]) / (CORES * (inside[-1][0] - inside[0][0])), 3)

        first_at = start + (first_frame_s or 0.0)
        return {
            "cpu_s_by_role": {k: round(v, 3) for k, v in sorted(roles.items(), key=lambda kv: -kv[1])},
            "sampler_cpu_s": round(own, 3),
            "utilisation_before_first_frame": utilisation(t0, first_at),
            "utilisation_while_rendering": utilisation(first_at, render_end),
            "utilisation_after_last_render": utilisation(render_end, t1),
            "after_last_render_s": round(t1 - render_end, 3),
        }


def pipelined(pipeline, spec: dict, out: Path, threads: bool = False) -> dict:
    sampler = ThreadCpu() if threads else None
    if sampler is not None:
        sampler.__enter__()
    try:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        result = pipeline.generate_slot_sync(spec, output=out)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    finally:
        if sampler is not None:
            sampler.__exit__()
    result.raise_for_error()
    t = result.timings
    row = {"wall_s": round(wall, 3), "first_frame_s": t.get("first_frame"), "cpu_s": round(cpu, 3),
           "busy_s": {k: t[k] for k in ("speech", "actor", "prepare", "motion", "animation", "encode") if k in t},
           "slot_peak_rss_mb": result.peak_rss_mb, "frames": result.frames}
    if sampler is not None:
        row["threads"] = sampler.summary(wall0, t.get("first_frame"))
        row["cpu_s"] = round(cpu - row["threads"]["sampler_cpu_s"], 3)
    return row


def staged(pipeline, spec: dict, out: Path) -> dict:
    """The slot stage by stage (the flow before the pipelined engine), from the public pieces."""
    import threading
    from queue import Queue

    from vortex.actors.procedural import draw_portrait
    from vortex.media.video import Mp4Writer
    from vortex.motion import plan_motion
    from vortex.pipeline import fit_speech

    track, visual, slot = spec["audio_track"], spec["visual_track"], spec["slot"]
    fps, size, frames = slot["fps"], slot["size"], round(slot["duration_sec"] * slot["fps"])
    wall0, cpu0 = time.perf_counter(), time.process_time()

    async def speech_and_actor():
        engine, animator = pipeline.speech_backend(track["voice_id"]), pipeline.animator_backend()

        def cast():
            portrait = draw_portrait(visual["prompt"], seed=slot["seed"], size=size)
            animator.rig(portrait)
            return portrait

        return await asyncio.gather(asyncio.to_thread(engine.synthesize, track["script"], track["voice_id"]),
                                    asyncio.to_thread(cast))

    speech, portrait = asyncio.run(speech_and_actor())
    fitted, _ = fit_speech(speech, frames, fps)
    controls = plan_motion(fitted, frames, fps, visual["expression_sequence"], slot["seed"])
    chunks: Queue = Queue(maxsize=2)

    def render():
        for chunk in pipeline.animator_backend().frames(portrait, controls, chunk=24):
            chunks.put(chunk)
        chunks.put(None)

    producer = threading.Thread(target=render)
    producer.start()
    first = None
    with Mp4Writer(out, fps=fps, size=size, audio=fitted.waveform) as writer:
        while (chunk := chunks.get()) is not None:
            writer.write(chunk)
            first = first or time.perf_counter() - wall0
    producer.join()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"wall_s": round(wall, 3), "first_frame_s": round(first, 3), "cpu_s": round(cpu, 3)}


def per_frame_cpu(pipeline, frames: int = 240) -> dict:
    """CPU-ms per 512 px frame of rendering alone and of encoding alone.

    ``render_cpu_ms`` with the animator's default workers (two frames at once on two cores) and
    ``render_one_worker_cpu_ms`` one at a time; ``encode_cpu_ms`` the MP4 alone;
    ``encode_mp4_hls_cpu_ms`` an MP4 and an HLS folder fed together as a slot feeds them (each
    frame converted to YUV once for both, ``write_to_sinks``) and ``encode_mp4_hls_separate_cpu_ms``
    each sink converting its own (as before), in the same run.
    """
    from vortex.actors.procedural import draw_portrait
    from vortex.media.encoder import write_to_sinks
    from vortex.media.hls import HlsSink
    from vortex.media.video import Mp4Writer
    from vortex.motion import plan_motion
    from vortex.speech.speech import PAUSE, Phone

    portrait = draw_portrait("old scientist, grey spiky hair, lab coat, laboratory", seed=1, size=512)
    controls = plan_motion([Phone(PAUSE, 0.0, frames / 24)], frames, 24, "excited", 1)
    animator = pipeline.animator_backend()
    animator.rig(portrait)

    def render(workers: int) -> tuple[float, list]:
        default, animator.workers = animator.workers, workers
        try:
            cpu0 = time.process_time()
            chunks = list(animator.frames(portrait, controls, chunk=24))
            return time.process_time() - cpu0, chunks
        finally:
            animator.workers = default

    import cv2

    render_cpu, rendered = render(animator.workers)
    render_one_cpu = render(1)[0]  # its frames dropped at once (the same as ``rendered``)
    cv2.setNumThreads(-1)  # OpenCV's default pool, as before the engine turned it off
    try:
        render_pool_cpu = render(animator.workers)[0]
    finally:
        cv2.setNumThreads(1)

    def encode(tmp: Path, hls: bool, shared: bool) -> float:
        cpu0 = time.process_time()
        sinks = [Mp4Writer(tmp / "e.mp4", fps=24, size=512)] + ([HlsSink(tmp / "hls", fps=24, size=512)] if hls else [])
        for chunk in rendered:
            for i in range(chunk.shape[0]):
                if shared:
                    write_to_sinks(sinks, chunk[i : i + 1])
                else:
                    for sink in sinks:
                        sink.write(chunk[i : i + 1])
        for sink in sinks:
            sink.close()
        return time.process_time() - cpu0

    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b, tempfile.TemporaryDirectory() as c:
        encode_cpu = encode(Path(a), hls=False, shared=True)
        separate_cpu = encode(Path(b), hls=True, shared=False)
        shared_cpu = encode(Path(c), hls=True, shared=True)

    def ms(seconds: float) -> float:
        return round(1000 * seconds / frames, 2)

    return {"frames": frames, "render_workers": animator.workers, "render_cpu_ms": ms(render_cpu),
            "render_one_worker_cpu_ms": ms(render_one_cpu), "render_opencv_pool_cpu_ms": ms(render_pool_cpu),
            "encode_cpu_ms": ms(encode_cpu),
            "encode_mp4_hls_cpu_ms": ms(shared_cpu), "encode_mp4_hls_separate_cpu_ms": ms(separate_cpu)}


FIRST_FRAME_VOICES = ("heart", "rick_c137")


def first_frame(pipeline, voice: str, tmp: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of this process from the request to the first frame in the MP4 sink (the
    slot is then cancelled). On a loaded machine the wall time measures the neighbours; the CPU
    time is what the slot spent on its first frame (on two quiet cores the wall is at least half of it)."""
    import threading

    cancel, seen = threading.Event(), []

    def on_progress(update) -> None:
        if update.stage == "animation" and update.frames_done >= 1 and not seen:
            seen.append((time.perf_counter(), time.process_time()))
            cancel.set()

    started, cpu0 = time.perf_counter(), time.process_time()
    pipeline.generate_slot_sync(recipe(False, voice=voice), output=tmp / "first.mp4", on_progress=on_progress, cancel=cancel)
    if not seen:
        raise RuntimeError(f"the {voice} slot ended without a frame")
    # The cancelled slot's speech stops only after the chunk it is synthesizing, holding the
    # engine until then: wait for it (a short sentence queues behind it), or the next request's
    # first chunk would wait too.
    pipeline.speech_backend(voice).synthesize("Ready.", voice)
    return seen[0][0] - started, seen[0][1] - cpu0


def first_frame_by_voice(repeats: int = 3, voices: tuple[str, ...] = FIRST_FRAME_VOICES) -> dict:
    """The first-frame time per speech backend; for a Kokoro voice also with whole-sentence first chunks."""
    import statistics

    from vortex.pipeline import VortexPipeline
    from vortex.speech.voices import get_voice

    out = {}
    for voice in voices:
        embedded = {"hibari": "hibari", "kokoro": "kokoro-onnx"}[get_voice(voice).engine]
        pipeline = VortexPipeline(animator="warp", actor="procedural", speech=embedded).load()
        engine = pipeline.speech_backend(voice)
        variants = {"first_phrase": True, "whole_sentence": False} if hasattr(engine, "first_phrase") else {"as_shipped": None}
        samples: dict[str, list[float]] = {name: [] for name in variants}
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        with tempfile.TemporaryDirectory() as tmp:
            first_frame(pipeline, voice, Path(tmp))  # warm caches
            for _ in range(repeats):
                for name, rule in variants.items():  # alternating: both variants see the same load
                    if rule is not None:
                        engine.first_phrase = rule
                    wall, cpu_s = first_frame(pipeline, voice, Path(tmp))
                    samples[name].append(round(wall, 3))
                    cpu[name].append(round(cpu_s, 3))
        if hasattr(engine, "first_phrase"):
            engine.first_phrase = True
        row = {"speech": embedded, **{f"{name}_s": statistics.median(v) for name, v in samples.items()},
               **{f"{name}_cpu_s": statistics.median(v) for name, v in cpu.items()}, "samples": samples, "cpu_samples": cpu}
        if "whole_sentence" in samples:
            row["whole_sentence_over_first_phrase"] = round(row["whole_sentence_s"] / row["first_phrase_s"], 2)
            row["whole_sentence_over_first_phrase_cpu"] = round(row["whole_sentence_cpu_s"] / row["first_phrase_cpu_s"], 2)
        out[voice] = row
    return out


def shipped_first_frame(row: dict) -> float:
    """The median first frame of the engine as shipped (Kokoro: with the first-phrase chunk)."""
    return row.get("first_phrase_s", row.get("as_shipped_s"))


def memory(pipeline, slots: int, voice: str) -> dict:
    peaks = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(slots):
            result = pipeline.generate_slot_sync(recipe(True, seed=i, voice=voice), output=Path(tmp) / "m.mp4")
            result.raise_for_error()
            peaks.append(result.peak_rss_mb)
    return {"slots": slots, "slot_s": 10, "peak_rss_mb_each": peaks, "growth_mb": round(peaks[-1] - peaks[0], 1)}


def run(quick: bool = False, slots: int | None = None, voice: str = "rick_c137", repeats: int = 3) -> dict:
    from vortex.pipeline import VortexPipeline

    slots = (3 if quick else 20) if slots is None else slots
    load_before = os.getloadavg()
    started = time.perf_counter()
    # The embedded backends, pinned: this measures the CPU path whatever models this machine has.
    from vortex.speech.voices import get_voice

    embedded = {"hibari": "hibari", "kokoro": "kokoro-onnx"}[get_voice(voice).engine]
    pipeline = VortexPipeline(animator="warp", actor="procedural", speech=embedded).load()
    load_s = time.perf_counter() - started
    spec = recipe(quick, voice=voice)
    length = spec["slot"]["duration_sec"]
    pipeline.generate_slot_sync(recipe(True, voice=voice), output=Path(tempfile.gettempdir()) / f"warm-{os.getpid()}.mp4")  # warm caches
    animator = pipeline.animator_backend()
    import cv2

    with tempfile.TemporaryDirectory() as tmp:
        new = pipelined(pipeline, spec, Path(tmp) / "pipelined.mp4", threads=True)
        cv2.setNumThreads(-1)  # OpenCV's default pool, as before the engine turned it off
        try:
            pool = pipelined(pipeline, spec, Path(tmp) / "opencv_pool.mp4", threads=True)
        finally:
            cv2.setNumThreads(1)
        default_workers, animator.workers = animator.workers, 1
        try:  # the same slot rendering one frame at a time (the engine before two render workers)
            one = pipelined(pipeline, spec, Path(tmp) / "one_worker.mp4")
        finally:
            animator.workers = default_workers
        old = staged(pipeline, spec, Path(tmp) / "staged.mp4")
        reference = (Path(tmp) / "pipelined.mp4").read_bytes()
        same_bytes = all(reference == (Path(tmp) / name).read_bytes()
                         for name in ("staged.mp4", "one_worker.mp4", "opencv_pool.mp4"))
    for row in (new, pool, one, old):
        row["wall_per_slot_s"] = round(row["wall_s"] / length, 3)
        row["cpu_utilisation"] = round(row["cpu_s"] / (CORES * row["wall_s"]), 3)
    mem = memory(pipeline, slots, voice) if slots else None  # before per_frame_cpu holds 240 frames at once
    frame_cost = per_frame_cpu(pipeline)
    peak_rss = max([new["slot_peak_rss_mb"], *(mem["peak_rss_mb_each"] if mem else [])])
    process_rss = peak_rss_mb()  # before first_frame_by_voice loads a pipeline per speech backend
    by_voice = first_frame_by_voice(repeats) if repeats else None
    result = {
        "headline": {  # the figures, for a quiet-machine re-run
            "cpu_utilisation": new["cpu_utilisation"], "cpu_utilisation_one_render_worker": one["cpu_utilisation"],
            "cpu_s": new["cpu_s"], "wall_s": new["wall_s"],
            "cpu_s_opencv_pool": pool["cpu_s"], "wall_s_opencv_pool": pool["wall_s"],
            "cpu_utilisation_opencv_pool": pool["cpu_utilisation"],
            "first_frame_s": new["first_frame_s"], "wall_per_slot_s": new["wall_per_slot_s"],
            "wall_per_slot_one_render_worker_s": one["wall_per_slot_s"],
            "render_cpu_ms_per_frame": frame_cost["render_cpu_ms"], "encode_cpu_ms_per_frame": frame_cost["encode_cpu_ms"],
            "peak_rss_mb": peak_rss, "load_before": [round(x, 2) for x in load_before],
            "first_frame_by_voice_s": by_voice and {v: shipped_first_frame(row) for v, row in by_voice.items()},
        },
        "voice": voice,
        "backends": {"speech": embedded, "actor": "procedural", "animator": "warp"},
        "slot": {"duration_s": length, "frames": new["frames"], "size": 512, "fps": 24},
        "load_s": round(load_s, 3),
        "pipelined": new,
        "pipelined_opencv_pool": pool,
        "pipelined_one_render_worker": one,
        "staged": old,
        "same_bytes": same_bytes,
        "first_frame_speedup": round(old["first_frame_s"] / new["first_frame_s"], 2),
        "wall_ratio": round(new["wall_s"] / old["wall_s"], 3),
        "per_frame_cpu_ms": frame_cost,
        "memory": mem,
        "process_peak_rss_mb": process_rss,
        "first_frame_by_voice": by_voice,
        "machine": {"cores": os.cpu_count(), "cores_assumed": CORES, "load_before": [round(x, 2) for x in load_before],
                    "load_after": [round(x, 2) for x in os.getloadavg()]},
        "targets": TARGETS,
        "met": {
            "first_frame": new["first_frame_s"] <= TARGETS["first_frame_s"],
            "cpu_utilisation": new["cpu_utilisation"] >= TARGETS["cpu_utilisation"],
            "peak_rss": peak_rss <= TARGETS["peak_rss_mb"],
            "wall": new["wall_per_slot_s"] <= TARGETS["wall_per_slot_s"],
        },
    }
    return result


def first_frame_only(repeats: int) -> dict:
    load_before = os.getloadavg()
    by_voice = first_frame_by_voice(repeats)
    return {"first_frame_by_voice": by_voice, "target_s": TARGETS["first_frame_s"],
            "met": {voice: shipped_first_frame(row) <= TARGETS["first_frame_s"] for voice, row in by_voice.items()},
            "machine": {"cores": os.cpu_count(), "load_before": [round(x, 2) for x in load_before],
                        "load_after": [round(x, 2) for x in os.getloadavg()]}}


if __name__ == "__main__":
    slots = int(sys.argv[sys.argv.index("--slots") + 1]) if "--slots" in sys.argv else None
    voice = sys.argv[sys.argv.index("--voice") + 1] if "--voice" in sys.argv else "rick_c137"
    repeats = int(sys.argv[sys.argv.index("--repeats") + 1]) if "--repeats" in sys.argv else 3
    emit(first_frame_only(repeats) if "--first-frame" in sys.argv else run("--quick" in sys.argv, slots, voice, repeats))

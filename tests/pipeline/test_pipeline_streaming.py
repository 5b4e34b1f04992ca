"""The pipelined engine: the same bytes as making the slot stage by stage over the whole timeline,
frames before the speech ends, progress an observer can follow, and cancellation that leaves nothing."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from vortex.pipeline import fit_speech

SCRIPT = ("Hello Morty. Science is about asking the right questions, and then some. "
          "We leave in five minutes. Pack a sandwich!")


def recipe(duration, expression="neutral", seed=3, script=SCRIPT):
    visual = {"prompt": "old scientist with spiky grey hair", "expression_preset": expression}
    if "," in expression:
        visual = {"prompt": visual["prompt"], "expression_sequence": expression.split(",")}
    return {
        "audio_track": {"script": script, "voice_id": "rick_c137"},
        "visual_track": visual,
        "slot": {"duration_sec": duration, "fps": 24, "size": 256, "seed": seed},
    }


def whole_timeline_mp4(pipeline, spec: dict, path) -> bytes:
    """The slot made stage by stage: all speech, then all motion, then every frame, then the MP4
    with the whole waveform up front (independent of the engine's streaming)."""
    from vortex.actors.procedural import draw_portrait
    from vortex.animators.warp import WarpAnimator
    from vortex.media.video import Mp4Writer
    from vortex.motion import plan_motion
    from vortex.pipeline import auto_frames

    track, visual, slot = spec["audio_track"], spec["visual_track"], spec["slot"]
    speech = pipeline.speech_backend(track["voice_id"]).synthesize(track["script"], track["voice_id"])
    fps, size = slot["fps"], slot["size"]
    frames = auto_frames(speech.duration, fps) if slot["duration_sec"] == "auto" else round(slot["duration_sec"] * fps)
    fitted, _ = fit_speech(speech, frames, fps)
    expression = visual.get("expression_sequence") or visual["expression_preset"]
    controls = plan_motion(fitted, frames, fps, expression, slot["seed"])
    portrait = draw_portrait(visual["prompt"], seed=slot["seed"], size=size)
    with Mp4Writer(path, fps=fps, size=size, audio=fitted.waveform) as writer:
        for chunk in WarpAnimator().frames(portrait, controls, chunk=50):
            writer.write(chunk)
    return path.read_bytes()


@pytest.mark.parametrize("duration, expression", [(13, "excited"), (9, "calm,manic"), ("auto", "neutral")])
def test_pipelined_slot_has_the_bytes_of_the_whole_timeline_path(pipeline, tmp_path, duration, expression):
    """A fixed slot longer than the speech (padded), one shorter (cut at a word), and an auto one."""
    spec = recipe(duration, expression)
    seen = []
    result = pipeline.generate_slot_sync(spec, output=tmp_path / "streamed.mp4", on_progress=seen.append)
    assert result.success, result.error
    reference = whole_timeline_mp4(pipeline, spec, tmp_path / "whole.mp4")
    assert (tmp_path / "streamed.mp4").read_bytes() == reference
    # An observer saw speech chunks arrive and frames reach the sinks, ending with all of them.
    assert any(p.stage == "speech" and p.speech_chunks_done >= 1 for p in seen)
    frames_seen = [p.frames_done for p in seen if p.stage == "animation"]
    assert frames_seen == sorted(frames_seen) and frames_seen[-1] == result.frames
    assert seen[-1].stage == "done" and seen[-1].frames_total == result.frames


def test_a_first_sentence_spoken_as_two_chunks_keeps_the_whole_timeline_bytes(pipeline, tmp_path):
    """Kokoro speaks a long first sentence's first phrase as a chunk of its own (so the first
    frame waits only for it); the slot's bytes are still those of the whole timeline."""
    spec = recipe(6, script="While the portal warms up, Morty, check that nobody left a sandwich inside. Go!")
    seen = []
    result = pipeline.generate_slot_sync(spec, output=tmp_path / "streamed.mp4", on_progress=seen.append)
    assert result.success, result.error
    assert max(p.speech_chunks_total for p in seen) == 3  # "While the portal warms up," / "Morty, check ... inside." / "Go!"
    assert (tmp_path / "streamed.mp4").read_bytes() == whole_timeline_mp4(pipeline, spec, tmp_path / "whole.mp4")


def test_the_first_frames_reach_the_sinks_before_the_speech_is_done(pipeline, tmp_path):
    """Frames are encoded while later sentences are still being synthesized."""
    order = []
    lock = threading.Lock()

    def watch(progress):
        with lock:
            order.append((progress.stage, progress.speech_chunks_done, progress.speech_chunks_total, progress.frames_done))

    result = pipeline.generate_slot_sync(recipe("auto"), output=tmp_path / "s.mp4", on_progress=watch)
    assert result.success, result.error
    first_frame = next(i for i, item in enumerate(order) if item[0] == "animation")
    chunks_before = max(item[1] for item in order[:first_frame])
    assert chunks_before < order[-1][2], order[: first_frame + 1]  # some speech was still to come
    assert 0 < result.timings["first_frame"] < result.timings["total"]


def test_cancelling_stops_at_the_next_chunk_and_leaves_nothing(pipeline, tmp_path, leftovers):
    cancel = threading.Event()

    def cancel_on_first_frames(progress):
        if progress.frames_done >= 1:
            cancel.set()

    result = pipeline.generate_slot_sync(recipe("auto"), output=tmp_path / "x.mp4",
                                         frames_dir=tmp_path / "frames", on_progress=cancel_on_first_frames, cancel=cancel)
    assert not result.success and result.error_type == "SlotCancelledError" and result.exit_code == 130
    assert 0 < result.frames < 11 * 24
    assert leftovers(tmp_path) == []


def test_photo_actor_warnings_reach_the_result_and_report(pipeline, tmp_path, astronaut_two_faces):
    spec = recipe(2, script="Hi there, Morty.")
    spec["visual_track"] = {"photo_file": str(astronaut_two_faces)}
    result = pipeline.generate_slot_sync(spec, output=tmp_path / "p.mp4", report=tmp_path / "p.json")
    assert result.success, result.error
    assert any(w.stage == "actor" and "faces found" in w.message for w in result.warning_details)
    assert any("faces found" in w for w in result.warnings)
    import json

    report = json.loads((tmp_path / "p.json").read_text())
    assert any(w["stage"] == "actor" and "faces found" in w["message"] for w in report["warning_details"])


@pytest.fixture
def astronaut_two_faces(tmp_path):
    """The astronaut beside a smaller copy of herself: the photo actor takes the larger, with a warning."""
    import cv2
    from skimage import data

    face = data.astronaut()
    small = cv2.resize(face, (320, 320), interpolation=cv2.INTER_AREA)
    canvas = np.full((512, 900, 3), 200, np.uint8)
    canvas[:, :512] = face
    canvas[96:416, 560:880] = small
    path = tmp_path / "two.png"
    cv2.imwrite(str(path), canvas[:, :, ::-1])
    return path


def test_streamed_speech_is_fitted_to_the_slot_as_a_prefix_of_the_whole(pipeline):
    """Chunk by chunk, ``SlotTimeline`` releases only audio and phones that ``fit_speech`` of the
    whole speech keeps (padding, a cut at a word, the overrun refusal), for many slot lengths."""
    from vortex.errors import InvalidInputError
    from vortex.pipeline import SlotTimeline
    from vortex.recipe import SlotSpec
    from vortex.speech.chunked import SpeechStream

    live = pipeline.speech_backend("rick_c137").stream(SCRIPT, "rick_c137")
    chunks = list(live)
    whole = live.speech()
    assert len(chunks) >= 3
    for seconds in (2.0, 4.0, 6.5, 8.5, 9.5, 10.5, 12.0):
        frames = round(seconds * 24)
        try:
            expected, _ = fit_speech(whole, frames, 24)
        except InvalidInputError:
            expected = None
        timeline = SlotTimeline(SlotSpec(seconds, 24, 256, 0), at_word=True)
        replay = SpeechStream(iter(chunks), live.words, voice=whole.voice, text=whole.text)
        failed = False
        for _ in replay:
            try:
                so_far = timeline.update(replay.speech(), replay.known_until)
            except InvalidInputError:
                failed = True  # refused early: the whole speech must be refused too
                break
            if expected is None:
                continue  # the whole speech overruns the slot: it must be refused by the end
            final = so_far.audio[: so_far.audio_final]
            assert np.array_equal(final, expected.waveform[: final.size]), seconds
            if so_far.fitted is not None:
                assert np.array_equal(so_far.fitted.waveform, expected.waveform) and so_far.fitted.phones == expected.phones
            else:
                known = [p for p in so_far.phones if p.end <= so_far.known_until]
                if known and known[-1].symbol == "_":  # a closing pause may still grow (the next chunk, padding)
                    assert known[-1].start == expected.phones[len(known) - 1].start
                    known = known[:-1]
                assert tuple(known) == expected.phones[: len(known)], seconds
        if expected is None:
            if not failed:
                with pytest.raises(InvalidInputError, match="too long"):
                    timeline.finish(replay.speech())
        else:
            fitted, _ = timeline.finish(replay.speech())
            assert np.array_equal(fitted.waveform, expected.waveform) and fitted.phones == expected.phones

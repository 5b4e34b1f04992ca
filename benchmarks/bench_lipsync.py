"""Lip-sync accuracy of our own slots, measured from the MP4s by ``vortex.evaluation.lipsync``.

Renders sentences rich in bilabials and open vowels through ``VortexPipeline`` (every preset,
both embedded actor kinds, ten voices), then evaluates each MP4 with its transcript. The
issue's target: |offset| <= 1 frame and >= 95% of bilabial closures within ±2 frames.
``--quick`` renders the first three.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit, peak_rss_mb, percentiles  # noqa: E402

# (script, expression preset, voice, actor: "photo" or a procedural prompt)
SENTENCES = (
    ("Please bring me a big bowl of popcorn, my friend, and maybe a map of Boston.", "neutral", "jf_alpha", "young man, curly red hair, studio"),
    ("Welcome back to the show! Tonight we talk about boats, bikes and big ideas.", "excited", "jm_kumo", "photo"),
    ("My mother made apple pie for the whole family every Sunday morning.", "calm", "jf_gongitsune", "old woman, grey hair, glasses, garden"),
    ("Stop! Put the paper down and back away from the printer, Bob.", "manic", "rick_c137", "old scientist, grey spiky hair, lab coat, laboratory"),
    ("Somewhere beyond the mountains there is a market where people buy maps.", "neutral", "jf_nezumi", "photo"),
    ("Bubbles popped above the bath as the baby laughed and splashed.", "calm", "jf_tebukuro", "green alien, big eyes, space"),
    ("I promise the probe will be back before the amber moon appears.", "excited", "morty", "teenage boy, brown hair, city"),
    ("Maybe the problem is simpler than we imagined; maybe it is not.", "manic", "summer", "photo"),
    ("Big brown bears move slowly by the pond, hoping for an easy meal.", "neutral", "jerry", "robot, metal face, blue eyes, desert"),
    ("Thank you all for coming; the members of the board will be happy to answer.", "calm", "beth", "photo"),
)


def _photo(folder: Path) -> Path:
    """The public-domain astronaut portrait that ships with scikit-image (a test extra)."""
    import cv2
    from skimage import data

    path = folder / "astronaut.png"
    cv2.imwrite(str(path), data.astronaut()[:, :, ::-1])
    return path


def run(quick: bool = False) -> dict:
    from vortex.evaluation.lipsync import evaluate_lipsync
    from vortex.pipeline import VortexPipeline

    cases = SENTENCES[:3] if quick else SENTENCES
    pipeline = VortexPipeline(log_warnings=False).load()
    slots, eval_seconds = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photo = None
        for i, (script, preset, voice, actor) in enumerate(cases):
            visual = {"expression_preset": preset}
            if actor == "photo":
                photo = photo or _photo(folder)
                visual["photo_file"] = str(photo)
            else:
                visual["prompt"] = actor
            recipe = {"audio_track": {"script": script, "voice_id": voice},
                      "visual_track": visual, "slot": {"duration_sec": "auto", "seed": i}}
            out = folder / f"slot{i}.mp4"
            entry = {"i": i, "preset": preset, "voice": voice, "actor": "photo" if actor == "photo" else "procedural"}
            try:
                pipeline.generate_slot_sync(recipe, output=out).raise_for_error()
                start = time.perf_counter()
                report = evaluate_lipsync(out, text=script)
                eval_seconds.append(time.perf_counter() - start)
            except Exception as exc:  # one failed slot is a result, not the end of the benchmark
                entry["error"] = f"{type(exc).__name__}: {exc}"
                slots.append(entry)
                continue
            data = report.to_dict()
            entry.update({k: data[k] for k in ("phone_source", "frames", "offset_frames", "sync_correlation", "bilabials",
                                               "closure_share", "open_vowels", "open_vowel_share", "silence_jitter",
                                               "frames_without_face", "passed")})
            slots.append(entry)
    measured = [s for s in slots if "error" not in s]
    offsets = [abs(s["offset_frames"]) for s in measured if s["offset_frames"] is not None]
    bilabials = sum(s["bilabials"] for s in measured)
    closed = sum(round(s["closure_share"] * s["bilabials"]) for s in measured if s["closure_share"] is not None)
    vowels = sum(s["open_vowels"] for s in measured)
    opened = sum(round(s["open_vowel_share"] * s["open_vowels"]) for s in measured if s["open_vowel_share"] is not None)
    summary = {
        "slots": len(slots),
        "measured": len(measured),
        "passed": sum(bool(s["passed"]) for s in measured),
        "max_abs_offset_frames": round(max(offsets), 3) if offsets else None,
        "mean_abs_offset_frames": round(float(np.mean(offsets)), 3) if offsets else None,
        "closures": f"{closed}/{bilabials}",
        "closure_share": round(closed / bilabials, 4) if bilabials else None,
        "open_vowels": f"{opened}/{vowels}",
        "open_vowel_share": round(opened / vowels, 4) if vowels else None,
        "target_met": bool(offsets) and len(offsets) == len(slots) and max(offsets) <= 1.0 and bilabials > 0 and closed / bilabials >= 0.95,
    }
    return {
        "benchmark": "lipsync",
        "summary": summary,
        "evaluate_s_per_slot": percentiles(eval_seconds) if eval_seconds else None,
        "slots": slots,
        "peak_rss_mb": peak_rss_mb(),
        "machine_note": "2-core shared dev box: timings under load are pessimistic; accuracy figures are not",
    }


if __name__ == "__main__":
    emit(run("--quick" in sys.argv))

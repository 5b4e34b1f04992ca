"""Actor speed and landmark agreement.

* ms per procedural portrait (512 px; prompts cycle through the gallery's 12), p50/p95.
* ms per photo actor on skimage's astronaut (512 px; load, detect, align, re-detect), p50/p95,
  after one unmeasured warm-up call that builds the mediapipe graph.
* Procedural landmark agreement: mediapipe's face mesh run on procedural portraits, its 68
  points against ours, mean error per group as a fraction of face height (forehead to chin);
  and the share of portraits where it finds a face at all.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "scripts"))
from common import emit, peak_rss_mb, percentiles, time_calls  # noqa: E402

from vortex.actors.face_mesh import FaceMeshDetector  # noqa: E402
from vortex.actors.photo import photo_actor  # noqa: E402
from vortex.actors.procedural import draw_portrait  # noqa: E402

GROUPS = {"jaw": (0, 17), "brows": (17, 27), "nose": (27, 36), "eyes": (36, 48), "lips": (48, 68)}


def run(quick: bool = False) -> dict:
    from make_gallery import PROMPTS
    from skimage import data

    repeats = 6 if quick else 40
    counter = iter(range(10**9))

    def one_portrait() -> None:
        k = next(counter)
        prompt, seed = PROMPTS[k % len(PROMPTS)]
        draw_portrait(prompt, seed=seed + k // len(PROMPTS))

    procedural = time_calls(one_portrait, repeats)
    astronaut = data.astronaut()
    photo = time_calls(lambda: photo_actor(astronaut), 4 if quick else 20)

    detector = FaceMeshDetector()
    n = 12 if quick else 60
    errors, found = [], 0
    for seed in range(n):
        p = draw_portrait("a character", seed=seed)
        faces = detector.detect(p.image)
        if not faces:
            continue
        found += 1
        err = np.linalg.norm(faces[0].ibug68 - p.landmarks, axis=1) / faces[0].face_height
        errors.append([float(err[a:b].mean()) for a, b in GROUPS.values()])
    mean_err = np.mean(errors, axis=0) if errors else [float("nan")] * len(GROUPS)
    return {
        "procedural_ms": percentiles([s * 1000 for s in procedural], 1),
        "photo_ms": percentiles([s * 1000 for s in photo], 1),
        "procedural_mediapipe": {
            "portraits": n, "detected": found,
            "mean_error_of_face_height": {g: round(float(e), 4) for g, e in zip(GROUPS, mean_err)},
        },
        "peak_rss_mb": peak_rss_mb(),
    }


if __name__ == "__main__":
    emit(run("--quick" in sys.argv))

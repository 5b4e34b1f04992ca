"""Compare the lip closures of two motion plans of the same audio (e.g. TTS timeline vs aligned audio).

Used to measure how well a timeline recovered from audio (``vortex.speech.external``) reproduces
the bilabial closures planned from the exact TTS timeline, in frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vortex.motion.planner import MotionPlan


@dataclass(frozen=True)
class ClosureAgreement:
    """offsets: for each reference closure, nearest other closure centre minus its centre (frames;
    inf when the other plan has none). spurious: for each other closure, distance to the nearest
    reference closure (frames)."""

    offsets: np.ndarray
    spurious: np.ndarray

    def recall(self, tolerance: float = 2.0) -> float:
        """Share of reference closures matched within ``tolerance`` frames."""
        return float(np.mean(np.abs(self.offsets) <= tolerance)) if self.offsets.size else 1.0

    def false_closures(self, tolerance: float = 2.0) -> int:
        """Closures in the other plan with no reference closure within ``tolerance`` frames."""
        return int(np.sum(self.spurious > tolerance))

    def summary(self, tolerance: float = 2.0) -> dict:
        matched = np.abs(self.offsets[np.abs(self.offsets) <= tolerance])
        return {
            "reference_closures": int(self.offsets.size),
            "found_closures": int(self.spurious.size),
            f"recall_within_{tolerance:g}_frames": round(self.recall(tolerance), 3),
            "false_closures": self.false_closures(tolerance),
            "mean_abs_offset_frames": round(float(matched.mean()), 3) if matched.size else None,
            "max_abs_offset_frames": round(float(matched.max()), 3) if matched.size else None,
        }


def closure_centres(plan: MotionPlan) -> np.ndarray:
    """Centre frame of each planned bilabial closure."""
    return np.array([float(np.mean(frames)) for _, frames in plan.closures])


def compare_closures(reference: MotionPlan, other: MotionPlan) -> ClosureAgreement:
    ref, found = closure_centres(reference), closure_centres(other)
    if found.size:
        offsets = np.array([found[np.argmin(np.abs(found - r))] - r for r in ref])
    else:
        offsets = np.full(ref.size, np.inf)
    spurious = np.array([np.min(np.abs(ref - f)) for f in found]) if ref.size else np.full(found.size, np.inf)
    return ClosureAgreement(offsets, spurious)

"""Motion stage: phones + expressions + seed -> ``Controls`` (one row of named channels per frame)."""

from vortex.motion.controls import CHANNELS, Controls
from vortex.motion.expressions import PRESETS, ExpressionSequence, parse_sequence
from vortex.motion.planner import LEAD_S, MotionPlan, MotionStream, plan_motion, plan_motion_detailed

__all__ = [
    "CHANNELS",
    "Controls",
    "ExpressionSequence",
    "LEAD_S",
    "MotionPlan",
    "MotionStream",
    "PRESETS",
    "parse_sequence",
    "plan_motion",
    "plan_motion_detailed",
]

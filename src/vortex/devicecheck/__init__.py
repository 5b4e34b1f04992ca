"""The device check: one command that exercises and measures every CUDA path, or says there is no GPU.

    python -m vortex.devicecheck            # on any machine; scripts/device-check.sh installs first

On a machine with an NVIDIA GPU it runs the CUDA tests (``pytest -m cuda``) and measures
LivePortrait (recipe weights from ``shared/liveportrait``) in FP32 and FP16 over a 1080-frame slot
at 512 px (ms/frame, peak VRAM, the FP16-vs-FP32 frame difference, batched vs frame-by-frame,
``torch.compile`` and CUDA graphs), the torch warp path, the tiny Flux pipeline on CUDA, and the
VRAM monitor's soft and hard limits; it prints one JSON document. Without a GPU it says so in one
line, runs the same measurements on the CPU at a few frames (the part CI runs) and lists the
figures that remain unmeasured.

Steps run in order of importance under a time budget (default 7.5 minutes); a step that would not
fit is reported as skipped with the reason, never silently dropped.
"""

from vortex.devicecheck.runner import run_check

__all__ = ["run_check"]

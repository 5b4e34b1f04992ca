"""Animator stage: ``Portrait`` + ``Controls`` -> frames (uint8 [n, H, W, 3] chunks)."""

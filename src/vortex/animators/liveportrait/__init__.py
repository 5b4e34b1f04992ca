"""LivePortrait animator: the five official networks re-implemented as plain torch modules.

Importing this package does not import torch; the submodules do. ``LivePortraitAnimator`` lives in
``vortex.animators.liveportrait.animator`` and ``load_networks`` in ``.loader``.
"""

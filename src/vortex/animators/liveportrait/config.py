"""LivePortrait network hyper-parameters and driving constants, as data.

The constructor parameters are those of KwaiVGI/LivePortrait ``src/config/models.yaml`` (commit
1986663b), plus the defaults the yaml leaves out (SPADE ``out_channels=64``, ConvNeXtV2-tiny depths and
widths, 66 head-pose bins). They are what the official checkpoint files were trained with, so changing
one breaks strict loading.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AppearanceFeatureExtractorConfig:
    image_channel: int = 3
    block_expansion: int = 64
    num_down_blocks: int = 2
    max_features: int = 512
    reshape_channel: int = 32
    reshape_depth: int = 16
    num_resblocks: int = 6


@dataclass(frozen=True)
class MotionExtractorConfig:
    num_kp: int = 21
    num_bins: int = 66
    in_chans: int = 3
    depths: tuple[int, ...] = (3, 3, 9, 3)
    dims: tuple[int, ...] = (96, 192, 384, 768)


@dataclass(frozen=True)
class DenseMotionConfig:
    block_expansion: int = 32
    max_features: int = 1024
    num_blocks: int = 5
    reshape_depth: int = 16
    compress: int = 4


@dataclass(frozen=True)
class WarpingConfig:
    num_kp: int = 21
    block_expansion: int = 64
    max_features: int = 512
    num_down_blocks: int = 2
    reshape_channel: int = 32
    estimate_occlusion_map: bool = True
    dense_motion: DenseMotionConfig = field(default_factory=DenseMotionConfig)


@dataclass(frozen=True)
class SpadeGeneratorConfig:
    upscale: int = 2
    block_expansion: int = 64
    max_features: int = 512
    num_down_blocks: int = 2
    out_channels: int = 64


@dataclass(frozen=True)
class RetargetingMLPConfig:
    input_size: int
    hidden_sizes: tuple[int, ...]
    output_size: int


STITCHING = RetargetingMLPConfig(126, (128, 128, 64), 65)
LIP = RetargetingMLPConfig(65, (128, 128, 64), 63)
EYE = RetargetingMLPConfig(66, (256, 256, 128, 128, 64), 63)

NUM_KP = 21
SOURCE_SIZE = 256
"""F and M read a 256x256 RGB crop in [0, 1]; G returns 512x512."""
OUTPUT_SIZE = 512


@dataclass(frozen=True)
class DrivingConfig:
    """How Controls channels become LivePortrait driving inputs.

    Expression offsets are added to the source ``exp`` (before scaling), per unit of the channel, as
    ``(keypoint, axis, offset)`` rows. The smile and eyebrow rows follow the official expression
    editor (``update_delta_new_smile`` / ``update_delta_new_eyebrow`` in LivePortrait's
    gradio pipeline), rescaled so that the Controls range (-1..1) spans the editor's slider range.
    Head signs map the Controls convention (yaw + = subject's left, pitch + = nod down, roll + =
    clockwise in the image) onto LivePortrait's degrees; they are unverified without the real weights.
    """

    smile_rows: tuple[tuple[int, int, float], ...] = (
        (20, 1, -0.01), (14, 1, -0.02), (17, 1, 0.0065), (17, 2, 0.003),
        (13, 1, -0.00275), (16, 1, -0.00275), (3, 1, -0.0035), (7, 1, -0.0035),
    )
    smile_range: tuple[float, float] = (-0.3, 1.3)
    """Controls smile is used as the editor's smile slider value, clipped to its range."""
    brow_up_rows: tuple[tuple[int, int, float], ...] = ((1, 1, 0.001), (2, 1, -0.001))
    brow_down_rows: tuple[tuple[int, int, float], ...] = (
        (1, 0, -0.001), (2, 0, 0.001), (1, 1, 0.0003), (2, 1, -0.0003),
    )
    brow_scale: float = 20.0
    """The editor's eyebrow slider spans -30..30; brow_up = 1 maps to 20 of those units."""
    eye_wide_gain: float = 0.35
    """eye_wide = 1 opens the eye-retargeting target ratio by 35 %, -1 narrows it by 35 %."""
    max_lip_open_ratio: float = 0.6
    """Lip-retargeting target ratio at jaw_open = 1 (the official lip slider tops out at 0.8)."""
    head_signs: tuple[float, float, float] = (1.0, -1.0, 1.0)
    """(pitch, yaw, roll) multipliers from Controls degrees to LivePortrait degrees."""
    max_eye_open_ratio: float = 0.8
    """Upper bound of the eye-retargeting target (the official eye slider range is 0..0.8)."""
    default_eye_open_ratio: float = 0.35
    """Used when the portrait's eye landmarks are degenerate."""
    crop_scale: float = 2.3
    """Side of the square source crop in face-box sizes (the official cropper's default scale)."""
    crop_shift_y: float = -0.125
    """Vertical shift of the crop centre in face-box sizes (official vy_ratio: negative moves it up)."""
    feather: float = 0.1
    """Fraction of the crop side over which the animated crop fades into the untouched portrait."""


COMPILE_MODES = (None, "default", "reduce-overhead", "max-autotune")
"""``torch.compile`` modes the animator accepts; ``reduce-overhead`` replays CUDA graphs."""


@dataclass(frozen=True)
class RuntimeConfig:
    """How the networks run (speed only; the frames stay the same within float tolerance).

    batch_size: frames per warping + decoding call (the driving keypoints of a whole chunk are
    computed in one call). static_batches: pad the last batch of a chunk to ``batch_size`` so
    every call has one shape (compiled graphs and CUDA graphs then never re-trace); default: on
    when compiling. compile_mode: ``torch.compile`` the warping network and the decoder with this
    mode (``reduce-overhead`` = CUDA graphs), None for eager. compile_backend: ``inductor``, or
    ``eager`` to check graph capture without code generation.
    """

    batch_size: int = 8
    static_batches: bool | None = None
    compile_mode: str | None = None
    compile_backend: str = "inductor"

    def __post_init__(self) -> None:
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        if self.compile_mode not in COMPILE_MODES:
            raise ValueError(f"compile_mode must be one of {COMPILE_MODES}, got {self.compile_mode!r}")

    @property
    def pads_batches(self) -> bool:
        return self.static_batches if self.static_batches is not None else self.compile_mode is not None

"""WarpAnimator: a portrait and a Controls track -> frames, by one dense remap per frame.

Per portrait (once): the rig gives each expression channel's landmark targets at unit strength;
``fields.backward_field`` turns each into a dense backward displacement field on a half-resolution
grid over the face, stored as a [K, N] float32 matrix; the head gets a soft mask and the three
fields ``m*x, m*y, m`` that make any head affine a 2x3 @ 3xN product.

Per frame: expression field = weights @ basis (one small GEMM), head field = coefficients @
head basis (another), the expression field is sampled through the head map (a low-res remap, so
a turned head carries its open mouth with it), the map is upsampled to full resolution with
``cv2.resize`` and the image is warped with ONE ``cv2.remap``, only inside the region that can
move. The mouth interior and closing lids are then painted in small boxes of the output frame.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from vortex.actors.portrait import Portrait
from vortex.animators.base import write_chunks_into
from vortex.animators.warp.eyes import LID_FROM, draw_closed_lid, gaze_fields, lid_skin
from vortex.animators.warp.fields import Grid, backward_field, head_mask, region_grid
from vortex.animators.warp.mouth import MouthStyle, draw_lip_seam, draw_mouth_interior, lip_colour, mouth_style
from vortex.animators.warp.rig import (
    EXPRESSION_CHANNELS,
    FaceFrame,
    anchor_points,
    channel_displacements,
    closed_rest,
    face_frame,
    smile_gain,
)
from vortex.errors import InvalidInputError
from vortex.motion.controls import CHANNEL_INDEX, Controls

BASIS_CHANNELS: tuple[str, ...] = EXPRESSION_CHANNELS + ("gaze_x", "gaze_y")
_RANGES = {
    "jaw_open": (0, 1), "mouth_wide": (0, 1), "mouth_round": (0, 1), "lip_press": (0, 1),
    "smile": (-1, 1), "blink_l": (0, 1), "blink_r": (0, 1), "eye_wide": (-1, 1), "brow_up": (-1, 1),
    "gaze_x": (-1, 1), "gaze_y": (-1, 1),
}
_COLUMNS = np.array([CHANNEL_INDEX[c] for c in BASIS_CHANNELS])
_LOW = np.array([_RANGES[c][0] for c in BASIS_CHANNELS], np.float32)
_HIGH = np.array([_RANGES[c][1] for c in BASIS_CHANNELS], np.float32)
_JAW, _PRESS = BASIS_CHANNELS.index("jaw_open"), BASIS_CHANNELS.index("lip_press")
_BLINK_L, _BLINK_R = BASIS_CHANNELS.index("blink_l"), BASIS_CHANNELS.index("blink_r")
_SMILE = BASIS_CHANNELS.index("smile")
_HEAD = [CHANNEL_INDEX[c] for c in ("head_yaw", "head_pitch", "head_roll", "head_dx", "head_dy")]


@dataclass
class WarpRig:
    """Everything precomputed for one portrait (see the module docstring)."""

    image: np.ndarray  # uint8 [S, S, 3], C-contiguous
    frame: FaceFrame
    rest: np.ndarray  # float64 [68, 2] closed-lip rest landmarks
    landmark_basis: np.ndarray  # float64 [K, 68, 2] forward landmark displacement per channel
    face_grid: Grid
    base_field: np.ndarray  # float32 [h*w*2] closed-rest field (zero for closed-lip portraits)
    basis: np.ndarray  # float32 [K, h*w*2]
    head_grid: Grid
    head_basis: np.ndarray  # float32 [7, h*w*2]: identity (x, y), then m*x, m*y, m into x, then into y
    face_offset: np.ndarray  # float32 [2]: pixel position of face-grid sample (0, 0)
    pivot: np.ndarray  # neck pivot (px)
    skin_l: np.ndarray  # lid colours
    skin_r: np.ndarray
    lash_rgb: np.ndarray  # the closed-eye seam colour
    smile_gain: float  # scale of positive smile (portraits that already smile get less)
    painted_lids: bool  # the actor says its lid colour (procedural art): paint the whole lid
    seam_rgb: np.ndarray | None  # lip colour when the warp closes a mouth that is open in the image
    style: MouthStyle

    @property
    def size(self) -> int:
        return int(self.image.shape[0])


def build_rig(portrait: Portrait, step: int = 2) -> WarpRig:
    """Precompute the per-channel basis fields, the head basis and the colours of one portrait."""
    image = np.ascontiguousarray(portrait.image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or image.shape[0] != image.shape[1]:
        raise InvalidInputError(f"portrait image must be square uint8 [S, S, 3], got {image.dtype} {image.shape}")
    landmarks = np.asarray(portrait.landmarks, np.float64)
    if landmarks.shape != (68, 2) or not np.all(np.isfinite(landmarks)):
        raise InvalidInputError(f"portrait landmarks must be finite [68, 2], got {landmarks.shape}")
    size = image.shape[0]
    try:
        frame = face_frame(landmarks)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from exc
    rest = closed_rest(landmarks, frame)
    # The source keeps the portrait's real landmarks, except that an already-closed mouth keeps the
    # tiny lip separation the triangulation needs.
    source_pts = landmarks.copy()
    seam_rgb = None
    if np.allclose(rest[:60], landmarks[:60]):
        source_pts = rest.copy()
    else:
        seam_rgb = lip_colour(image, landmarks[48:60], landmarks[60:68])
    disp = channel_displacements(rest, frame)
    anchors = anchor_points(rest, frame, size)
    inner = anchors[:-32]  # everything except the image-border ring
    box = (inner[:, 0].min() - 2, inner[:, 1].min() - 2, inner[:, 0].max() + 2, inner[:, 1].max() + 2)
    face_grid = region_grid(box, size, step)
    src = np.concatenate([source_pts, anchors])

    base = backward_field(np.concatenate([rest, anchors]), src, face_grid)
    # Glasses drawn over the eyes would bend with a warped lid; such actors get a painted lid only.
    glasses = str(portrait.details.get("traits", {}).get("glasses", "none")) != "none"
    paint_only = {"blink_l", "blink_r"} if glasses and "lid_rgb" in portrait.details else set()
    fields = []
    for name in EXPRESSION_CHANNELS:
        if name in paint_only:
            fields.append(np.zeros_like(base))
            continue
        target = np.concatenate([rest + disp[name], anchors])
        fields.append(backward_field(target, src, face_grid) - base)
    gx, gy = gaze_fields(rest, frame.iod, face_grid)
    fields += [gx, gy]
    basis = np.stack([f.reshape(-1) for f in fields]).astype(np.float32)
    landmark_basis = np.stack([disp[name] for name in EXPRESSION_CHANNELS] + [np.zeros((68, 2))] * 2)

    # Head region: wherever the soft head mask is non-zero, plus the face grid.
    whole = region_grid((0, 0, size, size), size, step)
    mask_full = head_mask(rest, frame.iod, frame.v, whole, size)
    ys, xs = np.nonzero(mask_full > 1e-3)
    hx0, hy0 = face_grid.x0, face_grid.y0
    hx1, hy1 = face_grid.x0 + face_grid.width * step, face_grid.y0 + face_grid.height * step
    if xs.size:
        hx0, hy0 = min(whole.x0 + xs.min() * step, hx0), min(whole.y0 + ys.min() * step, hy0)
        hx1, hy1 = max(whole.x0 + (xs.max() + 1) * step, hx1), max(whole.y0 + (ys.max() + 1) * step, hy1)
    head_grid = region_grid((hx0 - step, hy0 - step, hx1 + step, hy1 + step), size, step)
    mask = head_mask(rest, frame.iod, frame.v, head_grid, size)
    hx, hy = head_grid.coords()
    head_basis = head_rows(hx, hy, mask)
    off = (face_grid.step - 1) / 2
    face_offset = np.array([face_grid.x0 + off, face_grid.y0 + off], np.float32)

    if "lid_rgb" in portrait.details and not glasses:  # through a lens the lid looks tinted: sample it
        skin_r = skin_l = np.asarray(portrait.details["lid_rgb"], np.float64)
    else:
        skin_r = lid_skin(image, landmarks[36:42], landmarks[17:22])
        skin_l = lid_skin(image, landmarks[42:48], landmarks[22:27])
    skin = _cheek_skin(image, landmarks)
    if skin is None:
        skin = (skin_l + skin_r) / 2
    return WarpRig(
        image=image, frame=frame, rest=rest, landmark_basis=landmark_basis, face_grid=face_grid,
        base_field=base.reshape(-1).astype(np.float32), basis=basis, head_grid=head_grid,
        head_basis=head_basis, face_offset=face_offset,
        pivot=rest[8] + frame.v * 0.7 * frame.iod,
        skin_l=skin_l, skin_r=skin_r,
        lash_rgb=np.asarray(portrait.details.get("outline_rgb", (skin_l + skin_r) * 0.25), np.float64),
        smile_gain=smile_gain(landmarks, frame),
        painted_lids="lid_rgb" in portrait.details,
        seam_rgb=seam_rgb,
        style=_style_from_details(portrait.details) or mouth_style(skin),
    )


def _cheek_skin(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
    """Median RGB of a 5x5 patch of cheek (level with the nose, between nostril and jaw), if in the image."""
    x = int(round((landmarks[2, 0] + landmarks[31, 0]) / 2))
    y = int(round(landmarks[29, 1]))
    height, width = image.shape[:2]
    if not (2 <= x < width - 2 and 2 <= y < height - 2):
        return None
    return np.median(image[y - 2 : y + 3, x - 2 : x + 3].reshape(-1, 3).astype(np.float64), axis=0)


def head_rows(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """[7, h*w*2] float32 rows so that ``[1, a-1, b, c, d, e-1, f] @ rows`` is the head map, interleaved (x, y).

    Row 0 is the identity (x, y); rows 1-3 add ``m*x, m*y, m`` to x and rows 4-6 to y, where
    ``m`` is the head mask: the backward head affine ``[[a, b, c], [d, e, f]]`` weighted by the
    mask.
    """
    rows = np.zeros((7, x.size, 2), np.float32)
    rows[0, :, 0], rows[0, :, 1] = x.ravel(), y.ravel()
    for i, base in enumerate((mask * x, mask * y, mask)):
        rows[1 + i, :, 0] = base.ravel()
        rows[4 + i, :, 1] = base.ravel()
    return rows.reshape(7, -1)


def _style_from_details(details: dict) -> MouthStyle | None:
    """Use the interior colours a procedural actor painted with, when it says them."""
    keys = ("mouth_interior_rgb", "teeth_rgb", "tongue_rgb")
    if not all(k in details for k in keys):
        return None
    cavity, teeth, tongue = (tuple(float(c) for c in details[k]) for k in keys)
    return MouthStyle(cavity=tuple(0.6 * c for c in cavity), teeth=teeth, tongue=tongue)


def channel_weights(row: np.ndarray) -> np.ndarray:
    """The basis weights for one Controls row: clipped to each channel's range, lip press closing the jaw's lip gap."""
    w = np.clip(row[_COLUMNS].astype(np.float32), _LOW, _HIGH)
    w[_JAW] *= 1.0 - w[_PRESS]
    return w


def head_transform(rig: WarpRig, row: np.ndarray) -> np.ndarray:
    """Forward 2x3 affine of the head for one Controls row (rotation about the neck pivot).

    Yaw is approximated by a sideways shift of the face (its depth in front of the neck axis
    times sin(yaw)) and a slight horizontal compression; pitch likewise vertically.
    """
    yaw, pitch, roll, dx, dy = (float(row[i]) for i in _HEAD)
    iod, size = rig.frame.iod, rig.size
    yr, pr, rr = math.radians(yaw), math.radians(pitch), math.radians(roll)
    k = np.diag([math.sqrt(math.cos(yr)), math.sqrt(math.cos(pr))])
    c, s = math.cos(rr), math.sin(rr)
    rot = np.array([[c, -s], [s, c]])
    center, pivot = rig.frame.center, rig.pivot
    shift = np.array([math.sin(yr) * 1.0 * iod, math.sin(pr) * 0.8 * iod])
    move = np.array([dx * size, dy * size])
    linear = rot @ k
    offset = pivot + rot @ (center - pivot - k @ center + shift) + move
    return np.concatenate([linear, offset[:, None]], axis=1)


def frame_landmarks(rig: WarpRig, weights: np.ndarray, head: np.ndarray) -> np.ndarray:
    """Output landmark positions [68, 2] for a frame (expression, then head)."""
    pts = rig.rest + np.tensordot(weights.astype(np.float64), rig.landmark_basis, axes=1)
    return pts @ head[:, :2].T + head[:, 2]


class WarpAnimator:
    """The embedded animator: landmark-driven dense warp plus a synthesized mouth interior.

    ``step`` is the resolution divisor of the displacement grid (2: fields at half resolution,
    upsampled before the single full-resolution remap). ``workers`` frames of a chunk render
    concurrently (OpenCV and NumPy release the GIL); every frame depends only on its own
    Controls row, so the output is identical for any number of workers. The default is 1:
    OpenCV already spreads each remap over the cores, and on a busy 2-core machine a second
    worker only adds contention (measured).
    """

    name = "warp"

    def __init__(self, step: int = 2, workers: int | None = None) -> None:
        if step not in (1, 2, 4):
            raise InvalidInputError(f"step must be 1, 2 or 4, got {step}")
        if workers is not None and workers < 1:
            raise InvalidInputError(f"workers must be >= 1, got {workers}")
        self.step = step
        self.workers = workers if workers is not None else 1
        self._cache: tuple[Portrait, WarpRig] | None = None

    def rig(self, portrait: Portrait) -> WarpRig:
        """The precomputed rig of ``portrait`` (the last one is cached)."""
        if self._cache is not None and self._cache[0] is portrait:
            return self._cache[1]
        rig = build_rig(portrait, self.step)
        self._cache = (portrait, rig)
        return rig

    def frames(self, portrait: Portrait, controls: Controls, chunk: int = 24) -> Iterator[np.ndarray]:
        """Yield uint8 [n, H, W, 3] chunks covering all ``controls.frames`` frames in order."""
        if chunk < 1:
            raise InvalidInputError(f"chunk must be >= 1, got {chunk}")
        if not np.all(np.isfinite(controls.values)):
            raise InvalidInputError("controls contain NaN or infinite values")
        rig = self.rig(portrait)
        total = controls.frames
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="warp") if self.workers > 1 else None
        try:
            for start in range(0, total, chunk):
                rows = controls.values[start : start + chunk]
                out = np.empty((len(rows),) + rig.image.shape, np.uint8)
                if pool is None:
                    for i, row in enumerate(rows):
                        render_frame(rig, row, out[i])
                else:
                    for done in [pool.submit(render_frame, rig, row, out[i]) for i, row in enumerate(rows)]:
                        done.result()
                yield out
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def render_into(self, portrait: Portrait, controls: Controls, buffer: np.ndarray) -> None:
        """Write every frame into a caller's float32 [T, 3, H, W] buffer in [0, 1], in place."""
        size = portrait.image.shape[0]
        if buffer.ndim != 4 or buffer.shape[0] != controls.frames or buffer.shape[2:] != (size, size):
            raise InvalidInputError(f"buffer must be float32 [{controls.frames}, 3, {size}, {size}], got {buffer.dtype} {buffer.shape}")
        write_chunks_into(self.frames(portrait, controls), buffer)


def expression_window(rig: WarpRig, k: np.ndarray) -> tuple[int, int, int, int]:
    """Head-grid rows r0:r1 and columns c0:c1 whose samples can map into the face grid.

    The head map moves a sample by at most the full backward affine's displacement (the mask is
    <= 1), which is largest at a corner of the region; outside the face grid the expression
    field is zero, so the rest of the head grid can skip the expression lookup.
    """
    fg, hg = rig.face_grid, rig.head_grid
    full_h, full_w = hg.full_shape
    corners = np.array([[hg.x0, hg.y0], [hg.x0 + full_w, hg.y0], [hg.x0, hg.y0 + full_h], [hg.x0 + full_w, hg.y0 + full_h]], np.float64)
    dx = (k[1] * corners[:, 0] + k[2] * corners[:, 1] + k[3])
    dy = (k[4] * corners[:, 0] + k[5] * corners[:, 1] + k[6])
    reach = float(np.sqrt(dx * dx + dy * dy).max()) + 2 * hg.step
    off = (hg.step - 1) / 2
    c0 = int(np.floor((fg.x0 - reach - hg.x0 - off) / hg.step))
    c1 = int(np.ceil((fg.x0 + fg.width * fg.step + reach - hg.x0 - off) / hg.step)) + 1
    r0 = int(np.floor((fg.y0 - reach - hg.y0 - off) / hg.step))
    r1 = int(np.ceil((fg.y0 + fg.height * fg.step + reach - hg.y0 - off) / hg.step)) + 1
    return max(r0, 0), min(max(r1, 0), hg.height), max(c0, 0), min(max(c1, 0), hg.width)


def frame_coefficients(rig: WarpRig, row: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(basis weights [K], forward head affine 2x3, head-row coefficients [7]) for one Controls row."""
    weights = channel_weights(row)
    if weights[_SMILE] > 0:
        weights[_SMILE] *= rig.smile_gain
    head = head_transform(rig, row)
    inverse = cv2.invertAffineTransform(head)
    k = np.array([1.0, inverse[0, 0] - 1, inverse[0, 1], inverse[0, 2], inverse[1, 0], inverse[1, 1] - 1, inverse[1, 2]], np.float32)
    return weights, head, k


def render_frame(rig: WarpRig, row: np.ndarray, out: np.ndarray) -> None:
    """Render one frame for a Controls row into ``out`` (uint8 [S, S, 3])."""
    weights, head, k = frame_coefficients(rig, row)
    fg, hg = rig.face_grid, rig.head_grid
    expr = (rig.base_field + weights @ rig.basis).reshape(fg.height, fg.width, 2)
    # Where each output sample sits in the unmoved face (pixels); then, only in the window that
    # can land on the face grid, the expression displacement found there.
    at = (k @ rig.head_basis).reshape(hg.height, hg.width, 2)
    r0, r1, c0, c1 = expression_window(rig, k)
    window = at[r0:r1, c0:c1]
    low = (window - rig.face_offset) * np.float32(1.0 / fg.step)
    window += cv2.remap(expr, low, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    full_h, full_w = hg.full_shape
    if hg.step > 1:
        at = cv2.resize(at, (full_w, full_h), interpolation=cv2.INTER_LINEAR)
        # Resizing clamps at the edges, half a pixel off for the outermost rows and columns; the
        # region's edge never moves, so they get the exact identity back.
        at[0, :, 1] = hg.y0
        at[-1, :, 1] = hg.y0 + full_h - 1
        at[:, 0, 0] = hg.x0
        at[:, -1, 0] = hg.x0 + full_w - 1
    out[:] = rig.image
    y0, x0 = hg.y0, hg.x0
    region = out[y0 : y0 + full_h, x0 : x0 + full_w]
    warped = cv2.remap(rig.image, at, None, cv2.INTER_LINEAR, dst=region, borderMode=cv2.BORDER_REFLECT)
    if warped is not region and not np.shares_memory(warped, region):
        region[:] = warped

    paint_details(rig, out, weights, head)


def paint_details(rig: WarpRig, out: np.ndarray, weights: np.ndarray, head: np.ndarray) -> None:
    """Paint what a warp cannot make (mouth interior, lip seam, closing lids) into a warped frame, in place."""
    pts = frame_landmarks(rig, weights, head)
    if rig.seam_rgb is not None:
        draw_lip_seam(out, pts[60:68], rig.frame.iod, rig.seam_rgb)
    draw_mouth_interior(out, pts[60:68], rig.frame.iod, rig.style)
    if weights[_BLINK_L] > LID_FROM or weights[_BLINK_R] > LID_FROM:
        unblinked = weights.copy()
        unblinked[[_BLINK_L, _BLINK_R]] = 0
        open_pts = frame_landmarks(rig, unblinked, head)
        iod = rig.frame.iod
        draw_closed_lid(out, open_pts[42:48], pts[42:48], float(weights[_BLINK_L]), rig.skin_l, rig.lash_rgb, iod, rig.painted_lids)
        draw_closed_lid(out, open_pts[36:42], pts[36:42], float(weights[_BLINK_R]), rig.skin_r, rig.lash_rgb, iod, rig.painted_lids)

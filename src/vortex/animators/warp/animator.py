"""WarpAnimator: a portrait and a Controls track -> frames, by one dense remap per frame.

Per portrait (once): the rig gives each expression channel's landmark targets at unit strength;
``fields.backward_field`` turns each into a dense backward displacement field on a half-resolution
grid over the face, stored as a [K, N] float32 matrix; the head gets a soft mask and the three
fields ``m*x, m*y, m`` that make any head affine (roll, shift) a 2x3 @ 3xN product, plus the 3D
turn fields of ``turn.py`` at a few yaw and pitch angles.

Per frame: expression field = weights @ basis, head field = coefficients @ head basis (plus the
two turn fields bracketing yaw and pitch), both as fixed-order weighted sums (``blend``: BLAS
would make the frames depend on its thread count); the expression field is sampled through the
head map (a low-res remap, so a turned head carries its open mouth with it), the map is upsampled to full resolution with
``cv2.resize`` and the image is warped with ONE ``cv2.remap``, only inside the region that can
move. The mouth interior and closing lids are then painted in small boxes of the output frame,
at landmarks solved on the frame's head map (``detail_points``, before the expression lands in it).

Speed (#15: <= 4 ms per 512 px frame on one core): a frame is memory-bound (the head basis alone
is ~8 MB), so each field is one vectorised pass (``blend``), per-frame scalars are plain floats,
and what could be painted with a hundred small NumPy calls is a few dozen (``mouth``).
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np
from scipy.spatial import Delaunay

from vortex.actors.face_mesh import MESH_TO_IBUG68
from vortex.actors.portrait import Portrait
from vortex.animators.base import write_chunks_into
from vortex.animators.warp.blend import CroppedRows, weighted_sum
from vortex.animators.warp.config import WarpConfig
from vortex.animators.warp.eyes import (
    LID_FROM,
    MESH_EYES,
    draw_closed_lid,
    draw_lash_seam,
    gaze_fields,
    lash_colour,
    lid_skin,
    mesh_blink,
)
from vortex.animators.warp.fields import Grid, backward_field, head_mask, mesh_backward_field, region_grid
from vortex.animators.warp.mouth import (
    MouthStyle,
    TeethPatch,
    draw_lip_seam,
    draw_mouth_interior,
    drawn_mouth_style,
    lip_colour,
    mouth_style,
    teeth_patch,
)
from vortex.animators.warp.turn import HeadModel, head_model, rotate, turn_fields, turn_weights
from vortex.animators.warp.rig import (
    EXPRESSION_CHANNELS,
    FaceFrame,
    anchor_points,
    channel_displacements,
    closed_rest,
    face_frame,
    smile_gain,
)
from vortex.cpus import usable_cpus
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


REFINE_FROM_DEG = 2.0
"""Below this yaw and pitch the analytic turn of a landmark is within ~half a pixel of the warp's."""


@dataclass(frozen=True)
class HeadPose:
    """One frame's head: yaw and pitch (deg, clipped) turned in 3D, then roll and shift as a 2D affine."""

    affine: np.ndarray  # forward 2x3
    yaw: float
    pitch: float
    coefficients: np.ndarray | None = None  # the head-row coefficients [7 + T] (see frame_coefficients)


@dataclass
class WarpRig:
    """Everything precomputed for one portrait (see the module docstring)."""

    image: np.ndarray  # uint8 [S, S, 3], C-contiguous
    frame: FaceFrame
    rest: np.ndarray  # float64 [68, 2] closed-lip rest landmarks
    landmark_basis: np.ndarray  # float64 [K, 68, 2] forward landmark displacement per channel
    face_grid: Grid
    base_field: np.ndarray  # float32 [h*w*2] closed-rest field (zero for closed-lip portraits)
    base_box: tuple[int, int, int, int] | None  # face-grid rows r0:r1, columns c0:c1 where it is non-zero
    basis: np.ndarray  # float32 [K, h*w*2]
    basis_rows: CroppedRows  # the same basis, each row cropped to where it moves (the CPU path's)
    head_grid: Grid
    head_basis: np.ndarray  # float32 [7 + T, h*w*2]: identity (x, y), m*x, m*y, m into x, then into y; then T turn fields
    head_planes: np.ndarray  # float32 [5, h, w]: x, y, m*x, m*y, m (head_basis rows 0-6 without their zero halves)
    turn_rows: CroppedRows  # head_basis rows 7.. cropped to where they move
    face_low: np.ndarray  # float64 [2, 3]: full-resolution pixel -> face-grid sample coordinates
    turn_reach: np.ndarray  # float32 [T]: largest displacement (px) of each turn field
    head: HeadModel  # the 3D points the turn fields were built from
    face_offset: np.ndarray  # float32 [2]: pixel position of face-grid sample (0, 0)
    pivot: np.ndarray  # neck pivot (px)
    skin_l: np.ndarray  # lid colours
    skin_r: np.ndarray
    lash_rgb: np.ndarray  # the closed-eye seam colour
    smile_gain: float  # scale of positive smile (portraits that already smile get less)
    painted_lids: bool  # the actor says its lid colour (procedural art): paint the whole lid
    mesh_lids: bool  # the blink moves the photo's own lids along its mesh: nothing painted
    seam_rgb: np.ndarray | None  # lip colour when the warp closes a mouth that is open in the image
    style: MouthStyle
    teeth: TeethPatch | None  # a photo's own teeth, when it shows them at rest
    config: WarpConfig

    @property
    def size(self) -> int:
        return int(self.image.shape[0])


def build_rig(portrait: Portrait, step: int | None = None, config: WarpConfig | None = None) -> WarpRig:
    """Precompute the per-channel basis fields, the head basis and the colours of one portrait.

    ``step`` (when given) overrides ``config.step``.
    """
    config = config or WarpConfig()
    if step is not None and step != config.step:
        config = WarpConfig(**{**config.as_dict(), "step": step})
    step = config.step
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
    # A photo's blink moves its own lids (the mesh's lid margins and crease): nothing is painted.
    mesh_lids = not paint_only and "lid_rgb" not in portrait.details and np.shape(portrait.mesh) == (478, 3)
    fields = []
    for name in EXPRESSION_CHANNELS:
        if name in paint_only:
            fields.append(np.zeros_like(base))
            continue
        if mesh_lids and name in ("blink_l", "blink_r"):
            mesh_xy = np.asarray(portrait.mesh, np.float64)[:468, :2]
            moved = mesh_blink(mesh_xy, frame.v, 1 if name == "blink_l" else 0,
                               config.lid_close, config.lower_lid_rise, config.crease_follow, config.fold_follow)
            # The open eye's own triangles, closed: a Delaunay mesh of the closed lids would cut
            # across them (long slivers from lower lid to crease) and let the eye show through.
            source = np.concatenate([mesh_xy, anchors])
            fields.append(mesh_backward_field(np.concatenate([mesh_xy + moved, anchors]), source,
                                              Delaunay(source).simplices, face_grid))
            disp[name] = moved[MESH_TO_IBUG68]
            continue
        target = np.concatenate([rest + disp[name], anchors])
        fields.append(backward_field(target, src, face_grid) - base)
    gx, gy = gaze_fields(rest, frame.iod, face_grid)
    fields += [gx, gy]
    basis = _without_float_noise(np.stack([f.reshape(-1) for f in fields]).astype(np.float32))
    landmark_basis = np.stack([disp[name] for name in EXPRESSION_CHANNELS] + [np.zeros((68, 2))] * 2)

    # Head region: wherever the soft head mask or a turn field is non-zero, plus the face grid,
    # found on a grid over the whole frame and cropped (same sample positions, so exact).
    whole = region_grid((0, 0, size, size), size, step)
    mask_full = head_mask(rest, frame.iod, frame.v, whole, size)
    model = _head_model(portrait, landmarks, frame, size, config)
    turns = turn_fields(model, whole, config).reshape(-1, whole.height, whole.width, 2)
    support = (mask_full > 1e-3) | np.any(np.abs(turns) > 1e-3, axis=(0, 3))
    ys, xs = np.nonzero(support)
    r0, c0 = face_grid.y0 // step, face_grid.x0 // step
    r1, c1 = -(-(face_grid.y0 + face_grid.height * step) // step), -(-(face_grid.x0 + face_grid.width * step) // step)
    if xs.size:
        r0, r1, c0, c1 = min(r0, ys.min()), max(r1, ys.max() + 1), min(c0, xs.min()), max(c1, xs.max() + 1)
    r0, c0 = max(int(r0) - 1, 0), max(int(c0) - 1, 0)
    r1, c1 = min(int(r1) + 1, whole.height), min(int(c1) + 1, whole.width)
    head_grid = Grid(c0 * step, r0 * step, c1 - c0, r1 - r0, step)
    mask = mask_full[r0:r1, c0:c1]
    hx, hy = head_grid.coords()
    turns = _without_float_noise(np.ascontiguousarray(turns[:, r0:r1, c0:c1]).reshape(len(turns), -1))
    head_basis = np.concatenate([head_rows(hx, hy, mask), turns])
    head_planes = np.stack([hx, hy, mask * hx, mask * hy, mask]).astype(np.float32)
    turn_reach = np.sqrt((turns.reshape(len(turns), -1, 2) ** 2).sum(-1)).max(axis=1).astype(np.float32)
    off = (face_grid.step - 1) / 2
    face_offset = np.array([face_grid.x0 + off, face_grid.y0 + off], np.float32)
    face_low = np.array([[1.0, 0.0, -face_offset[0]], [0.0, 1.0, -face_offset[1]]]) / face_grid.step

    if "lid_rgb" in portrait.details and not glasses:  # through a lens the lid looks tinted: sample it
        skin_r = skin_l = np.asarray(portrait.details["lid_rgb"], np.float64)
    else:
        skin_r = lid_skin(image, landmarks[36:42], landmarks[17:22])
        skin_l = lid_skin(image, landmarks[42:48], landmarks[22:27])
    bright = bright_skin(image, landmarks, frame)
    lips = np.asarray(portrait.details["lip_rgb"], np.float64) if "lip_rgb" in portrait.details else lip_colour(image, landmarks[48:60], landmarks[60:68])
    drawn = [portrait.details.get(k) for k in ("mouth_interior_rgb", "teeth_rgb", "tongue_rgb")]
    if all(c is not None for c in drawn):  # a drawn actor's own palette, under the face's light
        style = drawn_mouth_style(bright, *drawn, lips, config.teeth_margin)
    else:
        style = mouth_style(bright, lips, config.teeth_margin)
    base_field = _without_float_noise(base.reshape(-1).astype(np.float32))
    own_teeth = teeth_patch(image, landmarks[60:68], frame.iod, float(bright @ [0.299, 0.587, 0.114])) if seam_rgb is not None else None
    return WarpRig(
        image=image, frame=frame, rest=rest, landmark_basis=landmark_basis, face_grid=face_grid,
        base_field=base_field, base_box=CroppedRows.from_dense(base_field.reshape(1, face_grid.height, face_grid.width, 2)).union_box([1.0]),
        basis=basis,
        basis_rows=CroppedRows.from_dense(basis.reshape(len(basis), face_grid.height, face_grid.width, 2)),
        head_grid=head_grid, head_basis=head_basis, head_planes=head_planes,
        turn_rows=CroppedRows.from_dense(turns.reshape(len(turns), head_grid.height, head_grid.width, 2)),
        face_low=face_low, turn_reach=turn_reach, head=model, face_offset=face_offset,
        pivot=rest[8] + frame.v * 0.7 * frame.iod,
        skin_l=skin_l, skin_r=skin_r,
        lash_rgb=_lash_rgb(portrait, image, skin_l, skin_r, mesh_lids),
        smile_gain=smile_gain(landmarks, frame),
        painted_lids="lid_rgb" in portrait.details,
        mesh_lids=mesh_lids,
        seam_rgb=seam_rgb,
        style=style,
        teeth=own_teeth,
        config=config,
    )


FLOAT_NOISE_PX = 1e-4
"""Displacements this small are float noise: a triangle whose corners do not move maps back onto
itself only up to rounding (~1e-6 px), which would make every field non-zero almost everywhere."""


def _without_float_noise(rows: np.ndarray) -> np.ndarray:
    """``rows`` with components under ``FLOAT_NOISE_PX`` set to exactly zero (so their rows crop small)."""
    rows[np.abs(rows) < FLOAT_NOISE_PX] = 0.0
    return rows


def _head_model(portrait: Portrait, landmarks: np.ndarray, frame: FaceFrame, size: int, config: WarpConfig) -> HeadModel:
    """The 3D head: the portrait's own mesh (photos, Flux); else canonical depths on its landmarks.

    A drawn actor's landmarks are points of its drawn outlines, so they keep the jaw line and
    ears whole when turning; a face mesh measured on a drawing is only near them, and turning
    its points would tear the ink.
    """
    if portrait.mesh is not None and np.shape(portrait.mesh) == (478, 3):
        return head_model(landmarks, np.asarray(portrait.mesh, np.float64), frame, size, config, "mesh")
    return head_model(landmarks, None, frame, size, config, "canonical")


def _lash_rgb(portrait: Portrait, image: np.ndarray, skin_l: np.ndarray, skin_r: np.ndarray, mesh_lids: bool) -> np.ndarray:
    """The closed-eye line colour: the actor's outline colour, a photo's own lashes, else dark lid skin."""
    if "outline_rgb" in portrait.details:
        return np.asarray(portrait.details["outline_rgb"], np.float64)
    if mesh_lids:
        mesh_xy = np.asarray(portrait.mesh, np.float64)[:, :2]
        return np.mean([lash_colour(image, mesh_xy[list(eye["upper"])]) for eye in MESH_EYES], axis=0)
    return (skin_l + skin_r) * 0.25


def bright_skin(image: np.ndarray, landmarks: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """The face's brightest skin RGB: the median of its brightest 5% of skin pixels.

    Skin is the face outline (jaw, and the brows raised to the forehead) without the eyes,
    brows, lips and nostrils, and only skin-coloured pixels of it. Its brightness and colour are the face's light, which the mouth
    interior takes.
    """
    mask = np.zeros(image.shape[:2], np.uint8)
    forehead = landmarks[17:27][::-1] - frame.v * 0.35 * frame.iod
    cv2.fillPoly(mask, [np.round(np.concatenate([landmarks[0:17], forehead])).astype(np.int32)], 1)
    grow = max(2, int(round(0.06 * frame.iod)))
    for part in (landmarks[36:42], landmarks[42:48], landmarks[48:60], landmarks[31:36]):
        centre = part.mean(axis=0)
        cv2.fillPoly(mask, [np.round(centre + (part - centre) * 1.3).astype(np.int32)], 0)
    for brow in (landmarks[17:22], landmarks[22:27]):
        cv2.polylines(mask, [np.round(brow).astype(np.int32)], False, 0, 2 * grow)
    pixels = image[mask > 0].astype(np.float64)
    # Skin-coloured only (red over blue): glare on glasses or a white stubble highlight is
    # brighter than any skin and would light the mouth blue-white.
    skin_like = pixels[(pixels[:, 0] >= pixels[:, 2] + 12) & (pixels[:, 0] >= pixels[:, 1])]
    if len(skin_like) >= 50:
        pixels = skin_like
    if len(pixels) < 50:
        return np.array([200.0, 160.0, 140.0])
    lum = pixels @ np.array([0.299, 0.587, 0.114])
    return np.median(pixels[lum >= np.percentile(lum, 95)], axis=0)


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


def channel_weights(row: np.ndarray) -> np.ndarray:
    """The basis weights for one Controls row: clipped to each channel's range, lip press closing the jaw's lip gap."""
    w = np.clip(row[_COLUMNS].astype(np.float32), _LOW, _HIGH)
    w[_JAW] *= 1.0 - w[_PRESS]
    return w


def head_transform(rig: WarpRig, row: np.ndarray) -> np.ndarray:
    """Forward 2x3 affine of the head's roll (about the neck pivot) and shift for one Controls row.

    Yaw and pitch are not in it: they turn the head in 3D (``turn.py``), before this affine.
    """
    roll, dx, dy = (float(row[i]) for i in _HEAD[2:])
    size = rig.size
    rr = math.radians(roll)
    c, s = math.cos(rr), math.sin(rr)
    px, py = rig.pivot.tolist()
    # pivot - rot @ pivot + shift, in plain floats (a dozen NumPy calls on 2-vectors cost more).
    return np.array([[c, -s, px - (c * px - s * py) + dx * size], [s, c, py - (s * px + c * py) + dy * size]])


def head_pose(rig: WarpRig, row: np.ndarray) -> HeadPose:
    limit_y, limit_p = rig.config.yaw_limit, rig.config.pitch_limit
    yaw = float(np.clip(row[_HEAD[0]], -limit_y, limit_y))
    pitch = float(np.clip(row[_HEAD[1]], -limit_p, limit_p))
    return HeadPose(head_transform(rig, row), yaw, pitch)


def frame_landmarks(rig: WarpRig, weights: np.ndarray, pose: HeadPose, head_at: np.ndarray | None = None) -> np.ndarray:
    """Output landmark positions [68, 2] for a frame (expression, then the 3D turn, then roll and shift).

    The analytic turn is refined on the frame's own head map (a few fixed-point steps solving
    ``map(p) = landmark``), so painted details sit exactly where the warp put the face, also
    where a turned face hides part of itself. ``head_at`` is that map when the caller has it
    (``head_map``), else its samples are blended here.
    """
    pts = rig.rest + weighted_sum(weights.astype(np.float64), rig.landmark_basis)
    guess = pts
    if pose.yaw or pose.pitch:
        model = rig.head
        guess = rotate(model, model.to_face(pts), model.ibug_depth, 1.0, pose.yaw, pose.pitch)
    head = pose.affine
    out = guess @ head[:, :2].T + head[:, 2]
    if pose.coefficients is None or max(abs(pose.yaw), abs(pose.pitch)) < REFINE_FROM_DEG:
        return out
    painted = slice(36, 68)  # eyes and lips: the only landmarks anything is painted at
    for _ in range(2):  # the map is near the identity: each step shrinks the error ~5x
        out[painted] += pts[painted] - head_map_at(rig, pose.coefficients, out[painted], head_at)
    return out


def head_map_at(rig: WarpRig, k: np.ndarray, points: np.ndarray, head_at: np.ndarray | None = None) -> np.ndarray:
    """The head map (rest-face position of an output pixel) at output points [n, 2], bilinear on the head grid.

    ``head_at`` (float32 [h, w, 2], ``head_map(rig, k)``) gives the grid's samples; without it the
    samples under the points are blended from the head basis here.
    """
    hg = rig.head_grid
    off = (hg.step - 1) / 2
    low = (points - (hg.x0 + off, hg.y0 + off)) * (1.0 / hg.step)  # head-grid sample coordinates (x, y)
    corner = np.clip(np.floor(low), 0, (hg.width - 2, hg.height - 2))
    frac = np.clip(low - corner, 0.0, 1.0)
    fx, fy = frac[:, :1], frac[:, 1:]
    x0, y0 = corner.astype(np.intp).T
    # All four corners of every point in one gather (of the rows in use).
    yy = np.concatenate([y0, y0, y0 + 1, y0 + 1])
    xx = np.concatenate([x0, x0 + 1, x0, x0 + 1])
    if head_at is not None:
        corners = head_at[yy, xx]
    else:
        basis = rig.head_basis.reshape(len(k), hg.height, hg.width, 2)
        rows = np.flatnonzero(k)
        corners = weighted_sum(k[rows].astype(np.float64), basis[rows[:, None], yy[None, :], xx[None, :]])
    n = len(points)
    c00, c01, c10, c11 = corners[:n], corners[n : 2 * n], corners[2 * n : 3 * n], corners[3 * n :]
    value = (c00 * (1 - fx) + c01 * fx) * (1 - fy) + (c10 * (1 - fx) + c11 * fx) * fy
    outside = ((low < 0) | (low > (hg.width - 1, hg.height - 1))).any(axis=1)
    value[outside] = points[outside]
    return value


MAX_RENDER_WORKERS = 2
"""Frames rendered at once at most: in a slot the encoder (two x264 threads and the YUV
conversion) takes about as much CPU per frame as rendering, so two render workers and the
encoder already fill two cores, and more workers would only queue frames for the encoder."""


def default_workers() -> int:
    """Frames rendered at once: one per CPU the process may use (``usable_cpus``: its affinity,
    its container's quota, the CPUs its Ray worker reserved), at most ``MAX_RENDER_WORKERS``.
    On one CPU a second worker would only take turns with the first."""
    return min(usable_cpus(), MAX_RENDER_WORKERS)


class WarpAnimator:
    """The embedded animator: landmark-driven dense warp plus a synthesized mouth interior.

    ``config`` (``WarpConfig``) holds every tuning constant of the rig; ``step``, when given,
    overrides its resolution divisor of the displacement grids (2: fields at half resolution,
    upsampled before the single full-resolution remap). ``workers`` frames of a chunk render
    concurrently (OpenCV and NumPy release the GIL); every frame depends only on its own
    Controls row, so the output is identical for any number of workers. The default
    (``default_workers``) is one per CPU the process may use, at most 2: in a slot the
    renderer shares the machine with the encoder, and with one render thread (its frames partly
    Python holding the GIL, only the remaps split over OpenCV's threads) a core idled whenever
    the encoder had caught up with it.
    """

    name = "warp"

    def __init__(self, step: int | None = None, workers: int | None = None, config: WarpConfig | None = None) -> None:
        if step is not None and step not in (1, 2, 4):
            raise InvalidInputError(f"step must be 1, 2 or 4, got {step}")
        if workers is not None and workers < 1:
            raise InvalidInputError(f"workers must be >= 1, got {workers}")
        config = config or WarpConfig()
        if step is not None and step != config.step:
            config = WarpConfig(**{**config.as_dict(), "step": step})
        self.config = config
        self.step = config.step
        self.workers = workers if workers is not None else default_workers()
        self._cache: tuple[Portrait, WarpRig] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pool_size = 0
        self._pool_lock = threading.Lock()

    def prepare(self, portrait: Portrait) -> None:
        """Build (and cache) the portrait's rig now."""
        self.rig(portrait)

    def rig(self, portrait: Portrait) -> WarpRig:
        """The precomputed rig of ``portrait`` (the last one is cached)."""
        if self._cache is not None and self._cache[0] is portrait:
            return self._cache[1]
        rig = build_rig(portrait, config=self.config)
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
        # The calling thread renders its share too (frames 0, n, 2n, ...), helpers the rest, so a
        # block of one frame (a slot's first) renders at once, with no hand-off to another thread.
        n = min(self.workers, chunk)
        pool = self._helpers(n - 1) if n > 1 else None
        helped: list[Future] = []
        try:
            for start in range(0, total, chunk):
                rows = controls.values[start : start + chunk]
                out = np.empty((len(rows),) + rig.image.shape, np.uint8)
                helped = [] if pool is None else [pool.submit(render_frame, rig, rows[i], out[i])
                                                  for i in range(len(rows)) if i % n]
                for i in range(0, len(rows), 1 if pool is None else n):
                    render_frame(rig, rows[i], out[i])
                for done in helped:
                    done.result()
                helped = []
                yield out
        finally:  # stopped or failed mid-block: none of this call's frames renders on afterwards
            for future in helped:
                future.cancel()
            wait(helped)

    def _helpers(self, count: int) -> ThreadPoolExecutor:
        """The resident helper threads (``count`` of them), started once, not per block: a slot
        renders some 45 blocks. Calls from several threads at once share them."""
        with self._pool_lock:
            if self._pool is None or self._pool_size != count:
                if self._pool is not None:
                    self._pool.shutdown(wait=False)  # work already given to it still finishes
                self._pool, self._pool_size = ThreadPoolExecutor(count, thread_name_prefix="warp"), count
            return self._pool

    def render_into(self, portrait: Portrait, controls: Controls, buffer: np.ndarray) -> None:
        """Write every frame into a caller's float32 [T, 3, H, W] buffer in [0, 1], in place."""
        size = portrait.image.shape[0]
        if buffer.ndim != 4 or buffer.shape[0] != controls.frames or buffer.shape[2:] != (size, size):
            raise InvalidInputError(f"buffer must be float32 [{controls.frames}, 3, {size}, {size}], got {buffer.dtype} {buffer.shape}")
        write_chunks_into(self.frames(portrait, controls), buffer)


def expression_window(rig: WarpRig, k: np.ndarray, box: tuple[int, int, int, int] | None = None) -> tuple[int, int, int, int]:
    """Head-grid rows r0:r1 and columns c0:c1 whose samples can map into the face grid (or into
    its samples ``box``: rows r0:r1, columns c0:c1, where this frame's expression moves).

    The head map moves a sample by at most the full backward affine's displacement (the mask is
    <= 1), which is largest at a corner of the region, plus the turn fields' reach; outside the face grid the expression
    field is zero, so the rest of the head grid can skip the expression lookup.
    """
    fg, hg = rig.face_grid, rig.head_grid
    fr0, fr1, fc0, fc1 = box if box is not None else (0, fg.height, 0, fg.width)
    full_h, full_w = hg.full_shape
    k1, k2, k3, k4, k5, k6 = k[1:7].tolist()
    reach = max(math.hypot(k1 * x + k2 * y + k3, k4 * x + k5 * y + k6)
                for x in (hg.x0, hg.x0 + full_w) for y in (hg.y0, hg.y0 + full_h)) + 2 * hg.step
    # a turn field moves a sample at most this far
    reach += sum(abs(w) * r for w, r in zip(k[7:].tolist(), rig.turn_reach.tolist()) if w)
    off = (hg.step - 1) / 2
    c0 = math.floor((fg.x0 + fc0 * fg.step - reach - hg.x0 - off) / hg.step)
    c1 = math.ceil((fg.x0 + fc1 * fg.step + reach - hg.x0 - off) / hg.step) + 1
    r0 = math.floor((fg.y0 + fr0 * fg.step - reach - hg.y0 - off) / hg.step)
    r1 = math.ceil((fg.y0 + fr1 * fg.step + reach - hg.y0 - off) / hg.step) + 1
    return max(r0, 0), min(max(r1, 0), hg.height), max(c0, 0), min(max(c1, 0), hg.width)


def frame_coefficients(rig: WarpRig, row: np.ndarray) -> tuple[np.ndarray, HeadPose, np.ndarray]:
    """(basis weights [K], head pose, head-row coefficients [7 + T]) for one Controls row.

    ``coefficients @ rig.head_basis`` is the frame's head map: the mask-weighted backward affine
    (roll, shift) plus the blend of the two precomputed turn fields bracketing yaw and pitch.
    """
    weights = channel_weights(row)
    if weights[_SMILE] > 0:
        weights[_SMILE] *= rig.smile_gain
    pose = head_pose(rig, row)
    # The backward affine (cv2.invertAffineTransform's formula, in plain floats).
    (a, b, c), (d, e, f) = pose.affine.tolist()
    det = a * e - b * d
    det = 1.0 / det if det != 0 else 0.0
    a11, a22, a12, a21 = e * det, a * det, -b * det, -d * det
    k = np.zeros(rig.head_basis.shape[0], np.float32)
    k[:7] = (1.0, a11 - 1, a12, -a11 * c - a12 * f, a21, a22 - 1, -a21 * c - a22 * f)
    for index, weight in turn_weights(pose.yaw, pose.pitch, rig.config):
        k[7 + index] = weight
    return weights, HeadPose(pose.affine, pose.yaw, pose.pitch, k), k


def head_map(rig: WarpRig, k: np.ndarray) -> np.ndarray:
    """float32 [h, w, 2] head-grid map ``k @ head_basis``: the identity and the mask-weighted affine
    on the planes (x and y apart: the affine rows are half zeros), then the turn rows in use.
    Same sums in the same order as ``weighted_sum(k, head_basis)``."""
    x, y, mx, my, m = rig.head_planes
    k1, k2, k3, k4, k5, k6 = k[1:7].tolist()
    ax = cv2.scaleAdd(mx, k1, x)
    cv2.scaleAdd(my, k2, ax, dst=ax)
    cv2.scaleAdd(m, k3, ax, dst=ax)
    ay = cv2.scaleAdd(mx, k4, y)
    cv2.scaleAdd(my, k5, ay, dst=ay)
    cv2.scaleAdd(m, k6, ay, dst=ay)
    return rig.turn_rows.add_into(cv2.merge([ax, ay]), k[7:])


def render_frame(rig: WarpRig, row: np.ndarray, out: np.ndarray) -> None:
    """Render one frame for a Controls row into ``out`` (uint8 [S, S, 3])."""
    weights, pose, k = frame_coefficients(rig, row)
    fg, hg = rig.face_grid, rig.head_grid
    # Where each output sample sits in the unmoved face (pixels); the painted details' landmarks
    # are solved on this head map before the expression lands in it.
    at = head_map(rig, k)
    points = detail_points(rig, weights, pose, at)
    # The expression moves the face only inside the box round its rows in use (and the rest
    # field): its field there, and only the head samples that can land in that box look it up.
    box = rig.basis_rows.union_box(weights, rig.base_box)
    if box is not None:
        r0, r1, c0, c1 = box
        expr = np.zeros((r1 - r0, c1 - c0, 2), np.float32)
        if rig.base_box is not None:
            b0, b1, b2, b3 = rig.base_box
            expr[b0 - r0 : b1 - r0, b2 - c0 : b3 - c0] = rig.base_field.reshape(fg.height, fg.width, 2)[b0:b1, b2:b3]
        rig.basis_rows.add_into(expr, weights, (r0, c0))
        wr0, wr1, wc0, wc1 = expression_window(rig, k, box)
        window = at[wr0:wr1, wc0:wc1]
        to_box = rig.face_low - np.array([[0.0, 0.0, c0], [0.0, 0.0, r0]])
        window += cv2.remap(expr, cv2.transform(window, to_box), None, cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    full_h, full_w = hg.full_shape
    # x and y maps apart: OpenCV resizes two one-channel maps faster than one two-channel map.
    map_x, map_y = cv2.split(at)
    if hg.step > 1:
        map_x = cv2.resize(map_x, (full_w, full_h), interpolation=cv2.INTER_LINEAR)
        map_y = cv2.resize(map_y, (full_w, full_h), interpolation=cv2.INTER_LINEAR)
        # Resizing clamps at the edges, half a pixel off for the outermost rows and columns; the
        # region's edge never moves, so they get the exact identity back.
        map_y[0] = hg.y0
        map_y[-1] = hg.y0 + full_h - 1
        map_x[:, 0] = hg.x0
        map_x[:, -1] = hg.x0 + full_w - 1
    y0, x0 = hg.y0, hg.x0
    y1, x1 = y0 + full_h, x0 + full_w
    # The still frame round the moving region, as the source has it; the region is all remapped.
    out[:y0] = rig.image[:y0]
    out[y1:] = rig.image[y1:]
    out[y0:y1, :x0] = rig.image[y0:y1, :x0]
    out[y0:y1, x1:] = rig.image[y0:y1, x1:]
    region = out[y0:y1, x0:x1]
    warped = cv2.remap(rig.image, map_x, map_y, cv2.INTER_LINEAR, dst=region, borderMode=cv2.BORDER_REFLECT)
    if warped is not region and not np.shares_memory(warped, region):
        region[:] = warped

    paint_details(rig, out, weights, pose, points)


def detail_points(rig: WarpRig, weights: np.ndarray, pose: HeadPose,
                  head_at: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(the frame's landmarks [68, 2], the same without the blink when painted lids need them, else None)."""
    pts = frame_landmarks(rig, weights, pose, head_at)
    if rig.mesh_lids or (weights[_BLINK_L] <= LID_FROM and weights[_BLINK_R] <= LID_FROM):
        return pts, None
    unblinked = weights.copy()
    unblinked[[_BLINK_L, _BLINK_R]] = 0
    return pts, frame_landmarks(rig, unblinked, pose, head_at)


def paint_details(rig: WarpRig, out: np.ndarray, weights: np.ndarray, pose: HeadPose,
                  points: tuple[np.ndarray, np.ndarray | None] | None = None) -> None:
    """Paint what a warp cannot make (mouth interior, lip seam, closing lids) into a warped frame, in place.

    ``points`` is ``detail_points``' answer when the caller has it.
    """
    pts, open_pts = points if points is not None else detail_points(rig, weights, pose)
    if rig.seam_rgb is not None:
        draw_lip_seam(out, pts[60:68], rig.frame.iod, rig.seam_rgb)
    draw_mouth_interior(out, pts[60:68], rig.frame.iod, rig.style, rig.teeth, rig.config.interior_blur)
    if rig.mesh_lids:
        for channel, eye in ((_BLINK_L, slice(42, 46)), (_BLINK_R, slice(36, 40))):
            if weights[channel] > 0.6:
                draw_lash_seam(out, pts[eye], float(weights[channel]), rig.lash_rgb, rig.frame.iod)
    elif open_pts is not None:
        iod = rig.frame.iod
        draw_closed_lid(out, open_pts[42:48], pts[42:48], float(weights[_BLINK_L]), rig.skin_l, rig.lash_rgb, iod, rig.painted_lids)
        draw_closed_lid(out, open_pts[36:42], pts[36:42], float(weights[_BLINK_R]), rig.skin_r, rig.lash_rgb, iod, rig.painted_lids)

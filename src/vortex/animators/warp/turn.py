"""Head turns in 3D: rotate the face mesh with its depth, project it, warp piecewise over triangles.

Why not a 2D affine: a turned head is not a slid picture. The nose (in front) travels further
than the cheeks, the far cheek narrows, the near one widens, and the ears hardly move; only the
mesh's depth says how far each point goes. Mediapipe's 478 face points carry that depth (z in
the same scale as x, larger = farther; a photo actor's ``Portrait.mesh``); a portrait without a
mesh is measured once with the face mesh, and failing that its 68 landmarks get the depths of
mediapipe's canonical face.

The head model adds what the mesh lacks: a skull ring round the face (the head's outline,
which a head turning about its own axis keeps, so the hair and ears between it and the face
follow the face part of the way), neck rows that twist part of the way, and still points (a
wider ring, the shoulders, the frame border) beyond which the background never moves. Yaw turns about a vertical axis and pitch about a horizontal one, both ``pivot_depth``
behind the eyes (about the ears' depth), in the face's own axes.

Speed: the exact piecewise-affine backward field (Delaunay over the projected points, each
triangle mapped back onto the rest mesh) is built once per portrait at a few yaw and pitch
angles; a frame blends the two samples bracketing its angle (two vector adds per axis), so a
3D turn costs about what the old affine did.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from vortex.animators.warp.config import WarpConfig
from scipy.spatial import Delaunay

from vortex.animators.warp.fields import Grid, mesh_backward_field
from vortex.animators.warp.rig import FaceFrame

FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
"""Mediapipe's face-oval ring (forehead top, round the subject's left side, chin, back up)."""

CANONICAL_IBUG_DEPTH = np.array([
    0.89, 0.96, 0.96, 0.93, 0.85, 0.67, 0.46, 0.27, -0.10, 0.27, 0.46, 0.67, 0.85, 0.93, 0.96, 0.96, 0.89,
    0.13, -0.02, -0.13, -0.22, -0.27, -0.27, -0.22, -0.13, -0.02, 0.13,
    -0.25, -0.43, -0.57, -0.63, -0.32, -0.35, -0.38, -0.35, -0.32,
    0.07, -0.02, -0.04, -0.02, -0.02, -0.00, -0.02, -0.04, -0.02, 0.07, -0.00, -0.02,
    -0.10, -0.30, -0.36, -0.37, -0.36, -0.30, -0.10, -0.25, -0.29, -0.30, -0.29, -0.25,
    -0.07, -0.24, -0.25, -0.24, -0.07, -0.27, -0.28, -0.27,
])
"""Depth of each iBUG landmark behind the eye line, in IOD: mediapipe's canonical face model
(Apache-2.0) at the ``MESH_TO_IBUG68`` vertices; negative is nearer the camera."""


@dataclass(frozen=True)
class HeadModel:
    """Rest points of the head in the face's axes, and how far each follows a turn."""

    frame: FaceFrame
    origin: np.ndarray  # float64 [2]: pixel position of the axes' origin (between the eyes)
    points: np.ndarray  # float64 [N, 3]: (a, b, z) = along u, along v (px), depth (px, + farther)
    follow: np.ndarray  # float64 [N]: 1 head, <1 neck, 0 still
    ibug_depth: np.ndarray  # float64 [68]: z of each landmark (px)
    pivot_z: float
    pitch_b: float  # v-coordinate (px) of the pitch axis
    pitch_gain: float  # geometric pitch per commanded degree
    depth_source: str  # "mesh", "detected" or "canonical"

    def to_pixels(self, ab: np.ndarray) -> np.ndarray:
        return self.origin + ab[:, :1] * self.frame.u + ab[:, 1:2] * self.frame.v

    def to_face(self, xy: np.ndarray) -> np.ndarray:
        d = np.asarray(xy, np.float64) - self.origin
        return np.stack([d @ self.frame.u, d @ self.frame.v], axis=1)

    def rest_pixels(self) -> np.ndarray:
        return self.to_pixels(self.points[:, :2])


def rotate(model: HeadModel, ab: np.ndarray, z: np.ndarray, follow: np.ndarray | float, yaw: float, pitch: float) -> np.ndarray:
    """Orthographic projection (px, image axes) of face-axis points ``ab`` at depth ``z`` after the turn.

    Yaw (deg, + = image right) about the vertical axis at depth ``pivot_z``, then pitch (deg,
    + = nod down) about the horizontal axis through ``pitch_b``; each point turns by ``follow``
    times the angles.
    """
    return _turned(model, ab, z, follow, yaw, pitch)[0]


def _turned(model: HeadModel, ab: np.ndarray, z: np.ndarray, follow: np.ndarray | float, yaw: float,
            pitch: float) -> tuple[np.ndarray, np.ndarray]:
    """(projected pixels [N, 2], depth after the turn [N])."""
    ty = np.radians(yaw) * follow
    tp = np.radians(pitch * model.pitch_gain) * follow
    a, b, dz = ab[:, 0], ab[:, 1], z - model.pivot_z
    a1 = a * np.cos(ty) - dz * np.sin(ty)
    dz1 = a * np.sin(ty) + dz * np.cos(ty)
    bb = b - model.pitch_b
    b1 = model.pitch_b + bb * np.cos(tp) - dz1 * np.sin(tp)
    dz2 = bb * np.sin(tp) + dz1 * np.cos(tp)
    return model.to_pixels(np.stack([a1, b1], axis=1)), dz2


def head_model(landmarks: np.ndarray, mesh: np.ndarray | None, frame: FaceFrame, size: int,
               config: WarpConfig, depth_source: str = "mesh") -> HeadModel:
    """Build the head's turning points from the landmarks [68, 2] and, when known, the mesh [478, 3]."""
    iod = frame.iod
    right_eye, left_eye = landmarks[36:42].mean(0), landmarks[42:48].mean(0)
    origin = (right_eye + left_eye) / 2
    proto = HeadModel(frame, origin, np.zeros((0, 3)), np.zeros(0), np.zeros(68), 0.0, 0.0, 1.0, depth_source)
    if mesh is not None:
        from vortex.actors.face_mesh import MESH_TO_IBUG68

        eye_z = float(mesh[MESH_TO_IBUG68[36:48], 2].mean())
        face_xy, face_z = mesh[:, :2].astype(np.float64), mesh[:, 2].astype(np.float64) - eye_z
        ibug_z = face_z[MESH_TO_IBUG68]
        oval = proto.to_face(face_xy[list(FACE_OVAL)])
    else:
        face_xy, face_z = landmarks.astype(np.float64), CANONICAL_IBUG_DEPTH * iod
        ibug_z = face_z
        brows = landmarks[17:27][::-1] - frame.v * 0.55 * iod
        oval = proto.to_face(np.concatenate([landmarks[0:17], brows]))
    gain = config.depth_gain if mesh is not None else config.canonical_depth_gain
    pitch_gain = config.pitch_gain if mesh is not None else config.canonical_pitch_gain
    face_z = face_z * gain
    ibug_z = ibug_z * gain
    pivot_z = config.pivot_depth * iod
    face_ab = proto.to_face(face_xy)

    centre = oval.mean(axis=0)
    ear_b = 0.55 * iod  # below about the nose's base the oval is jaw: the neck rows take over
    skull = centre + (oval - centre) * config.skull_scale
    skull = skull[oval[:, 1] < ear_b]
    still = centre + (oval - centre) * config.still_scale
    still = still[oval[:, 1] < ear_b + 0.3 * iod]
    jaw = oval[oval[:, 1] >= ear_b]
    jaw = jaw[np.argsort(jaw[:, 0])]
    # The skull ring is the head's outline: a head turning about its own axis keeps its outline
    # (a sphere's silhouette does not move), so it stays, and the hair and ears inside it follow
    # the face part of the way; nothing outside it moves.
    parts = [(face_ab, face_z, 1.0), (skull, np.full(len(skull), pivot_z), 0.0)]
    neck_z = pivot_z - 0.5 * iod  # the neck's front, about half an IOD in front of the axis
    for drop, share in config.neck_rows:
        row = jaw + np.array([0.0, drop * iod])
        parts.append((row, np.full(len(row), neck_z), share))
    shoulders = np.linspace(jaw[0, 0] - 0.8 * iod, jaw[-1, 0] + 0.8 * iod, 9)
    shoulder_b = jaw[:, 1].max() + config.shoulder_drop * iod
    # Below the frame, the shoulder row sits on its bottom edge (still either way).
    shoulder_b = min(shoulder_b, float(proto.to_face(np.array([[origin[0], size - 1.0]]))[0, 1]))
    parts.append((np.stack([shoulders, np.full(9, shoulder_b)], 1), np.full(9, pivot_z), 0.0))
    # Still collar points beside the neck rows, so the neck's twist stays off the background.
    collar = [(x, jaw[:, 1].max() + drop * iod) for drop, _ in config.neck_rows
              for x in (jaw[0, 0] - 0.5 * iod, jaw[-1, 0] + 0.5 * iod)]
    parts.append((np.array(collar), np.full(len(collar), pivot_z), 0.0))
    parts.append((still, np.full(len(still), pivot_z), 0.0))
    edge = np.linspace(0, size - 1, 9)
    border = np.array([(x, 0) for x in edge] + [(x, size - 1) for x in edge]
                      + [(0, y) for y in edge[1:-1]] + [(size - 1, y) for y in edge[1:-1]], np.float64)
    parts.append((proto.to_face(border), np.full(len(border), pivot_z), 0.0))

    keep_ab, keep_z, keep_f = [], [], []
    margin = 0.04 * size
    taken = np.zeros((0, 2))
    for ab, z, share in parts:
        xy = proto.to_pixels(ab)
        if share > 0:  # moving points stay off the pinned frame edge
            inside = np.all((xy >= margin) & (xy <= size - 1 - margin), axis=1)
        else:
            inside = np.all((xy >= 0) & (xy <= size - 1), axis=1)
        for p, q, zz in zip(xy[inside], ab[inside], z[inside]):
            if taken.size and np.min(np.sum((taken - p) ** 2, axis=1)) < 4.0:
                continue  # Delaunay needs distinct points
            taken = np.vstack([taken, p])
            keep_ab.append(q)
            keep_z.append(zz)
            keep_f.append(share)
    points = np.column_stack([np.array(keep_ab), np.array(keep_z)])
    return HeadModel(frame, origin, points, np.array(keep_f), np.asarray(ibug_z, np.float64), pivot_z,
                     config.pitch_axis_drop * iod, pitch_gain, depth_source)


def sample_angles(config: WarpConfig) -> list[tuple[str, float]]:
    """The (axis, degrees) of each precomputed turn field, in row order: yaw -, yaw +, pitch -, pitch +."""
    rows = [("yaw", -s) for s in config.yaw_samples] + [("yaw", s) for s in config.yaw_samples]
    return rows + [("pitch", -s) for s in config.pitch_samples] + [("pitch", s) for s in config.pitch_samples]


def turn_fields(model: HeadModel, grid: Grid, config: WarpConfig) -> np.ndarray:
    """float32 [rows, h*w*2]: the exact backward displacement of each sample turn on ``grid``.

    The triangles are the rest points' (a frontal face is a height field, so its 2D Delaunay
    mesh is a surface mesh); turned, they are drawn far to near, so the near cheek and the nose
    cover what they hide, as a z-buffer would.
    """
    source = model.rest_pixels()
    simplices = Delaunay(source).simplices
    out = []
    for axis, angle in sample_angles(config):
        yaw, pitch = (angle, 0.0) if axis == "yaw" else (0.0, angle)
        target, depth = _turned(model, model.points[:, :2], model.points[:, 2], model.follow, yaw, pitch)
        order = np.argsort(-depth[simplices].mean(axis=1), kind="stable")
        out.append(mesh_backward_field(target, source, simplices[order], grid).reshape(-1))
    return np.stack(out).astype(np.float32)


def turn_weights(yaw: float, pitch: float, config: WarpConfig) -> list[tuple[int, float]]:
    """(row, weight) pairs blending the precomputed fields for one frame's clipped yaw and pitch."""
    pairs: list[tuple[int, float]] = []
    offset = 0
    for angle, samples in ((yaw, config.yaw_samples), (pitch, config.pitch_samples)):
        n = len(samples)
        magnitude = abs(angle)
        base = offset + (n if angle > 0 else 0)  # rows of this sign, in increasing magnitude
        if magnitude > 0:
            grid = (0.0,) + tuple(samples)
            i = min(bisect.bisect_right(grid, magnitude) - 1, n - 1)
            lo, hi = grid[i], grid[i + 1]
            t = (magnitude - lo) / (hi - lo)
            if i > 0:
                pairs.append((base + i - 1, 1.0 - t))
            pairs.append((base + i, t))
        offset += 2 * n
    return pairs

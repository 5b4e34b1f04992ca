"""Photo actors: any photo with a face -> an aligned square crop with 478 mesh points and 68 landmarks.

The crop follows LivePortrait's (``parse_rect_from_landmark`` with its defaults scale=2.3,
vy_ratio=-0.125): take the 68 landmarks, rotate them so the eyes are level, take their bounding
box, make it square, scale it by 2.3, and move its centre up by 0.125 of the side so the head
has room above and the shoulders show below. Pixels outside the photo are filled by edge
replication, which reads as background rather than as a black frame.

Rules: no face -> ``InvalidInputError``; several faces -> the largest, with a warning; a face
under ``MIN_FACE_PX`` (forehead to chin) -> ``InvalidInputError``; output size 256..1024.
Landmarks in the output frame come from running the face mesh again on the aligned crop (the
most accurate, and consistent with what an evaluator measures); if that fails they are the
first detection mapped through the same affine transform.
"""

from __future__ import annotations

import math
import os

import numpy as np

from vortex.actors.face_mesh import MESH_TO_IBUG68, FaceMesh, FaceMeshDetector
from vortex.actors.images import load_image
from vortex.actors.portrait import Portrait
from vortex.errors import InvalidInputError


MIN_SIZE, MAX_SIZE = 256, 1024
MIN_FACE_PX = 48
CROP_SCALE = 2.3
CROP_VY_RATIO = -0.125
DETECT_MAX_SIDE = 1280
RIGHT_EYE_RING = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE_RING = (362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398)
MOUTH_RING = (61, 291, 0, 17, 13, 14)

_detector: FaceMeshDetector | None = None


def _shared_detector() -> FaceMeshDetector:
    """One detector per process: building the mediapipe graph costs ~100 ms."""
    global _detector
    if _detector is None:
        _detector = FaceMeshDetector(max_faces=4)
    return _detector


def eye_centres(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(image-left eye, image-right eye) centres from the mesh eye rings."""
    return points[list(RIGHT_EYE_RING), :2].mean(0), points[list(LEFT_EYE_RING), :2].mean(0)


def crop_transform(points: np.ndarray, size: int) -> tuple[np.ndarray, dict]:
    """The 2x3 affine taking photo pixels to the aligned ``size`` square, and the crop it describes."""
    left, right = eye_centres(points)
    angle = math.atan2(right[1] - left[1], right[0] - left[0])
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, s], [-s, c]])  # rotates the eye line onto the x axis
    pts = points[MESH_TO_IBUG68, :2]
    centre0 = pts.mean(0)
    rpts = (pts - centre0) @ rot.T
    lo, hi = rpts.min(0), rpts.max(0)
    side = float(max(hi - lo)) * CROP_SCALE
    centre_r = (lo + hi) / 2 + np.array([0.0, CROP_VY_RATIO * side])
    centre = centre0 + rot.T @ centre_r
    k = size / side
    m = np.zeros((2, 3))
    m[:, :2] = k * rot
    m[:, 2] = size / 2 - k * rot @ centre
    crop = {"centre": [round(float(v), 2) for v in centre], "side": round(side, 2),
            "angle_deg": round(math.degrees(angle), 3), "scale": round(k, 5)}
    return m, crop


def _apply(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    out = points.astype(np.float64).copy()
    out[:, :2] = points[:, :2] @ m[:, :2].T + m[:, 2]
    if out.shape[1] > 2:
        out[:, 2] = points[:, 2] * math.hypot(m[0, 0], m[0, 1])
    return out.astype(np.float32)


def _warp(rgb: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    import cv2

    scale = math.hypot(m[0, 0], m[0, 1])
    if scale < 0.5:  # shrink with an area filter first, so the warp does not alias
        f = min(1.0, 2.0 * scale)
        small = cv2.resize(rgb, (max(1, round(rgb.shape[1] * f)), max(1, round(rgb.shape[0] * f))), interpolation=cv2.INTER_AREA)
        fx, fy = small.shape[1] / rgb.shape[1], small.shape[0] / rgb.shape[0]
        m = m @ np.array([[1 / fx, 0, 0], [0, 1 / fy, 0], [0, 0, 1]])
        rgb = small
    return cv2.warpAffine(rgb, m, (size, size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def photo_actor(source: str | os.PathLike[str] | np.ndarray, size: int = 512, detector: FaceMeshDetector | None = None) -> Portrait:
    """Detect, align and crop the main face of a photo into a ``size`` square ``Portrait``.

    ``warnings`` (also ``details["warnings"]``) lists everything worth telling the user
    (conversions, downscales, extra faces ignored); callers report them (a slot puts them in its
    result, ``vortex cast`` prints them), so nothing is logged here.
    """
    if not isinstance(size, (int, np.integer)) or not MIN_SIZE <= int(size) <= MAX_SIZE:
        raise InvalidInputError(f"size must be {MIN_SIZE}..{MAX_SIZE} pixels, got {size}")
    size = int(size)
    loaded = load_image(source)
    rgb = loaded.rgb
    notes = list(loaded.warnings)
    detector = detector or _shared_detector()

    # Detect on a bounded copy: the mesh runs at 192 px per face, more pixels only cost time.
    f = min(1.0, DETECT_MAX_SIDE / max(rgb.shape[:2]))
    probe = rgb if f == 1.0 else _downscaled(rgb, f)
    faces = detect_faces(detector, probe)
    if not faces:
        raise InvalidInputError(f"no face found in {loaded.name} (need a clear, roughly frontal face)")
    if len(faces) > 1:
        notes.append(f"{len(faces)} faces found; using the largest")
    face = faces[0]
    points = face.points.copy()
    points[:, :3] /= f
    height = face.face_height / f
    if height < MIN_FACE_PX:
        raise InvalidInputError(f"face is too small: {height:.0f} px from forehead to chin, need at least {MIN_FACE_PX} px")

    m, crop = crop_transform(points, size)
    image = _warp(rgb, m, size)
    mapped = _apply(m, points)
    landmarks_from = "transformed"
    redetected = detector.detect(image)
    if redetected:
        nose = mapped[4, :2]
        best = min(redetected, key=lambda r: float(np.linalg.norm(r.points[4, :2] - nose)))
        if np.linalg.norm(best.points[4, :2] - nose) < 0.1 * size:
            mapped, landmarks_from = best.points, "redetected"
    mesh = FaceMesh(np.asarray(mapped, np.float32))
    details = {
        "path": loaded.name, "original_size": list(loaded.original_size), "crop": crop,
        "landmarks_from": landmarks_from, "faces_found": len(faces), "warnings": notes,
        "face_height_px": round(float(height), 1), "mouth_aperture": round(mesh.mouth_aperture, 4),
    }
    return Portrait(image=np.ascontiguousarray(image), landmarks=mesh.ibug68, face_box=mesh.box,
                    source="photo", mesh=mesh.points, details=details,
                    warnings=tuple(f"{loaded.name}: {note}" for note in notes))


def detect_faces(detector: FaceMeshDetector, rgb: np.ndarray) -> list[FaceMesh]:
    """All faces, largest first. The face detector sees the whole image at 128 px, so when it
    finds nothing (a group photo, a wide shot) it looks again in overlapping square windows."""
    faces = detector.detect(rgb)
    if faces:
        return faces
    height, width = rgb.shape[:2]
    found: list[FaceMesh] = []
    for side in (min(height, width), min(height, width) // 2):
        if side < 128:
            break
        step = side // 2
        ys = sorted({*range(0, height - side + 1, step), height - side})
        xs = sorted({*range(0, width - side + 1, step), width - side})
        for y in ys:
            for x in xs:
                if side == min(height, width) and (height == side and width == side):
                    continue  # the whole image, already tried
                for face in detector.detect(np.ascontiguousarray(rgb[y:y + side, x:x + side])):
                    pts = face.points.copy()
                    pts[:, 0] += x
                    pts[:, 1] += y
                    found.append(FaceMesh(pts))
        if found:
            break
    kept: list[FaceMesh] = []
    for face in sorted(found, key=lambda f: f.area, reverse=True):  # one entry per face across windows
        cx, cy = face.points[4, :2]
        if not any(k.box[0] <= cx <= k.box[2] and k.box[1] <= cy <= k.box[3] for k in kept):
            kept.append(face)
    return kept


def _downscaled(rgb: np.ndarray, f: float) -> np.ndarray:
    from vortex.actors.images import downscale

    return downscale(rgb, f)

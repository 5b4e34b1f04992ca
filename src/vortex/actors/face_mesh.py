"""Face landmarks from mediapipe's face mesh (its models ship inside the wheel, so this works offline).

Used by the photo actor to place landmarks, and by the evaluator and tests as a detector that
is independent of the code that drew or animated the face.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from vortex.errors import MissingResourceError

MESH_TO_IBUG68 = np.array(
    [
        # jaw 0-16, subject's right ear -> chin (152) -> left ear
        127, 234, 93, 132, 58, 172, 136, 150, 152, 379, 365, 397, 288, 361, 323, 454, 356,
        # brows 17-21 (subject's right, outer -> inner), 22-26 (left, inner -> outer)
        70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
        # nose bridge 27-30, nostrils 31-35
        168, 197, 5, 4, 75, 97, 2, 326, 305,
        # eyes 36-41 (right: outer corner, upper, upper, inner corner, lower, lower), 42-47 (left)
        33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
        # outer lips 48-59 (right corner, along the upper lip, left corner, back along the lower lip)
        61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,
        # inner lips 60-67
        78, 82, 13, 312, 308, 317, 14, 87,
    ],
    dtype=np.int64,
)
"""Mediapipe mesh index for each of the 68 iBUG landmarks."""

INNER_LIP_TOP = 13
INNER_LIP_BOTTOM = 14
LEFT_EYE_TOP, LEFT_EYE_BOTTOM = 386, 374
RIGHT_EYE_TOP, RIGHT_EYE_BOTTOM = 159, 145
FOREHEAD, CHIN = 10, 152
EYE_LID_PAIRS = (
    ((33, 133), ((160, 144), (RIGHT_EYE_TOP, RIGHT_EYE_BOTTOM), (158, 153))),
    ((263, 362), ((387, 373), (LEFT_EYE_TOP, LEFT_EYE_BOTTOM), (385, 380))),
)
"""Per eye: its corners (outer, inner) and three upper/lower lid points facing each other."""


@dataclass(frozen=True)
class FaceMesh:
    """points: float32 [478, 3]; x, y in pixels of the analysed image, z in the same scale as x."""

    points: np.ndarray

    @property
    def ibug68(self) -> np.ndarray:
        return self.points[MESH_TO_IBUG68, :2].astype(np.float32)

    @property
    def box(self) -> tuple[float, float, float, float]:
        x, y = self.points[:, 0], self.points[:, 1]
        return float(x.min()), float(y.min()), float(x.max()), float(y.max())

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return (x1 - x0) * (y1 - y0)

    @property
    def face_height(self) -> float:
        """Forehead-to-chin distance: the scale that makes mouth and eye measures size-free."""
        return float(np.linalg.norm(self.points[FOREHEAD, :2] - self.points[CHIN, :2]))

    @property
    def mouth_aperture(self) -> float:
        """Inner-lip gap divided by face height (0 when the lips touch)."""
        gap = np.linalg.norm(self.points[INNER_LIP_TOP, :2] - self.points[INNER_LIP_BOTTOM, :2])
        return float(gap / max(self.face_height, 1e-6))

    @property
    def eye_aperture(self) -> float:
        """Mean lid gap of both eyes divided by face height.

        The gap is measured across each eye's corner-to-corner line, averaged over three
        upper/lower lid pairs. A straight top-to-bottom distance would count the mesh sliding
        its lid points sideways along a shut lid as opening: on Grace Hopper's closed eyes the
        pair 159/145 sat on one lash line 5 px apart sideways and read as 40% open.
        """
        gaps = []
        for (outer, inner), pairs in EYE_LID_PAIRS:
            axis = self.points[inner, :2] - self.points[outer, :2]
            normal = np.array([-axis[1], axis[0]], np.float64) / max(float(np.linalg.norm(axis)), 1e-6)
            gaps += [abs(float((self.points[top, :2] - self.points[bottom, :2]) @ normal)) for top, bottom in pairs]
        return float(np.mean(gaps) / max(self.face_height, 1e-6))


class FaceMeshDetector:
    """Wraps ``mp.solutions.face_mesh`` with 478 refined points; safe to share between threads.

    ``video=True`` lets mediapipe track between consecutive frames (faster, for decoding a
    video in order); the default treats every image independently.
    """

    def __init__(self, max_faces: int = 1, video: bool = False, min_confidence: float = 0.5) -> None:
        try:
            import mediapipe as mp
        except ImportError as exc:  # pragma: no cover - mediapipe is a core dependency
            raise MissingResourceError("mediapipe==0.10.21 is required for face landmarks: pip install mediapipe==0.10.21") from exc
        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=not video,
            max_num_faces=max_faces,
            refine_landmarks=True,
            min_detection_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
        )
        self._lock = threading.Lock()

    def detect(self, image: np.ndarray) -> list[FaceMesh]:
        """All faces in an RGB uint8 [H, W, 3] image, largest first."""
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected uint8 [H, W, 3] RGB, got {image.dtype} {image.shape}")
        height, width = image.shape[:2]
        with self._lock:
            result = self._mesh.process(np.ascontiguousarray(image))
        faces = []
        for landmarks in result.multi_face_landmarks or ():
            pts = np.array([(p.x * width, p.y * height, p.z * width) for p in landmarks.landmark], np.float32)
            faces.append(FaceMesh(pts))
        return sorted(faces, key=lambda f: f.area, reverse=True)

    def close(self) -> None:
        with self._lock:
            self._mesh.close()

    def __enter__(self) -> "FaceMeshDetector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""Files in and out of the motion stage: phone timelines (``vortex say --timeline``) and Controls.

Controls files, chosen by suffix:

* ``.npz``: ``values`` float32 [T, K], ``channels`` (names, in column order), ``fps``;
* ``.csv``: a header ``frame,time,<channels...>`` then one row per frame (6 decimals);
* ``.json``: ``{"fps", "channels", "values": [[...], ...]}`` (6 decimals).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np

from vortex.errors import InvalidInputError
from vortex.media.atomic import atomic_output, write_text_atomic
from vortex.motion.controls import CHANNELS, Controls
from vortex.speech.speech import Phone

CONTROLS_SUFFIXES = (".npz", ".csv", ".json")


def phones_from_timeline(data: dict) -> list[Phone]:
    """Phones from a timeline dict as ``Speech.timeline_dict()`` writes it."""
    if not isinstance(data, dict) or not isinstance(data.get("phones"), list):
        raise InvalidInputError("a timeline needs a 'phones' list (as written by `vortex say --timeline`)")
    phones = []
    for i, item in enumerate(data["phones"]):
        try:
            phones.append(Phone(str(item["phone"]), float(item["start"]), float(item["end"]),
                                item.get("word"), bool(item.get("stressed", False))))
        except (KeyError, TypeError, ValueError):
            raise InvalidInputError(f"timeline phone {i} needs 'phone', 'start' and 'end' (seconds), got {item!r}") from None
    return phones


def load_timeline(path: str | os.PathLike[str]) -> tuple[list[Phone], float]:
    """(phones, duration in seconds) from a timeline JSON file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"timeline file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"cannot read timeline {path}: {exc}") from None
    phones = phones_from_timeline(data)
    duration = data.get("duration")
    if not isinstance(duration, (int, float)) or duration <= 0:
        duration = phones[-1].end if phones else 0.0
    return phones, float(duration)


def save_controls(controls: Controls, path: str | os.PathLike[str]) -> Path:
    """Write Controls atomically in the format the suffix names; returns the path."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CONTROLS_SUFFIXES:
        raise InvalidInputError(f"controls file must end in {', '.join(CONTROLS_SUFFIXES)}, got {path.name!r}")
    values = controls.values
    if suffix == ".npz":
        buffer = io.BytesIO()
        np.savez(buffer, values=values, channels=np.array(CHANNELS), fps=np.int64(controls.fps))
        with atomic_output(path) as tmp:
            tmp.write_bytes(buffer.getvalue())
    elif suffix == ".csv":
        lines = ["frame,time," + ",".join(CHANNELS)]
        for k, row in enumerate(values):
            lines.append(f"{k},{k / controls.fps:.6f}," + ",".join(f"{v:.6f}" for v in row))
        write_text_atomic(path, "\n".join(lines) + "\n")
    else:
        payload = {"fps": controls.fps, "channels": list(CHANNELS), "values": np.round(values.astype(np.float64), 6).tolist()}
        write_text_atomic(path, json.dumps(payload) + "\n")
    return path


def load_controls(path: str | os.PathLike[str]) -> Controls:
    """Read a ``.npz`` written by ``save_controls`` (channel names must match this version's)."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise InvalidInputError(f"load_controls reads .npz files, got {path.name!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            values, channels, fps = data["values"], [str(c) for c in data["channels"]], int(data["fps"])
    except (OSError, KeyError, ValueError) as exc:
        raise InvalidInputError(f"cannot read controls {path}: {exc}") from None
    if tuple(channels) != CHANNELS:
        raise InvalidInputError(f"controls {path.name} have channels {channels}, expected {list(CHANNELS)}")
    return Controls(values.astype(np.float32, copy=False), fps)

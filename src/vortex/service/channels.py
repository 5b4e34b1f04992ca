"""Channels: ordered slots broadcast as one live HLS stream, and the programme guide.

A channel's playlist (``vortex.media.hls.channel_playlist``, live) lists the segments of its
finished slots in programme order, up to the first slot not finished yet, with
``#EXT-X-DISCONTINUITY`` between slots. It never has ``#EXT-X-ENDLIST``: it grows as slots
finish or are appended, and players poll it. Failed or cancelled slots are skipped.

The broadcast starts when the first slot is ready (``on_air_since``); from then on the
programme position is the wall time since. The guide says which slot is on air, which is next,
and the lead time: how many seconds of finished video lie ahead of the broadcast position
(negative would mean viewers wait; it is floored at zero and ``stalled`` says so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vortex.service.limits import LimitError

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def check_channel_name(name: object) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise LimitError(
            422,
            "name",
            "name: a channel name is 1-63 lowercase letters, digits, '-' or '_', starting with a "
            f"letter or digit, got {name!r}",
        )
    return name


@dataclass(frozen=True)
class PublishedSlot:
    """A finished slot on the channel: its job id and length."""

    job_id: str
    duration_sec: float


def programme_guide(
    programme: list[dict], published: list[PublishedSlot], on_air_since: float | None, now: float
) -> dict:
    """on air, next and the lead time. ``programme``: the channel's jobs in order (id, status)."""
    total = sum(slot.duration_sec for slot in published)
    position = None if on_air_since is None else max(0.0, now - on_air_since)
    on_air = None
    if position is not None and published:
        start = 0.0
        for i, slot in enumerate(published):
            if position < start + slot.duration_sec:
                on_air = {
                    "id": slot.job_id,
                    "offset_sec": round(position - start, 3),
                    "duration_sec": slot.duration_sec,
                }
                break
            start += slot.duration_sec
    ids = [job["id"] for job in programme if job["status"] not in ("failed", "cancelled")]
    if on_air is not None:
        following = ids[ids.index(on_air["id"]) + 1 :] if on_air["id"] in ids else []
    else:  # not started yet, or the broadcast caught up with rendering: the first slot not yet shown
        shown = {slot.job_id for slot in published}
        following = [job_id for job_id in ids if job_id not in shown]
    next_slot = {"id": following[0]} if following else None
    lead = None if position is None else round(max(0.0, total - position), 3)
    return {
        "on_air": on_air,
        "next": next_slot,
        "lead_sec": lead,
        "stalled": position is not None and position > total,
        "published_sec": round(total, 3),
        "on_air_since": on_air_since,
    }

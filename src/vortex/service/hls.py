"""A finished slot MP4 cut into HLS segments (a remux: the H.264 and AAC packets are copied, not
re-encoded), so a channel can publish each slot as soon as it is done.

The segments go into a temporary folder that is renamed into place when complete, so a
playlist never points at a half-written segment.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

SEGMENT_SEC = 2
PLAYLIST = "index.m3u8"


def segment_mp4(mp4: Path, folder: Path, segment_sec: int = SEGMENT_SEC) -> Path:
    """Cut ``mp4`` into ``folder/seg_NNN.ts`` plus a VOD playlist ``folder/index.m3u8``."""
    import av

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
    try:
        with av.open(str(mp4)) as source:
            options = {"hls_time": str(segment_sec), "hls_playlist_type": "vod",
                       "hls_segment_filename": str(staging / "seg_%03d.ts"), "hls_flags": "independent_segments"}
            with av.open(str(staging / PLAYLIST), "w", format="hls", options=options) as sink:
                streams = {s.index: sink.add_stream_from_template(s) for s in source.streams if s.type in ("video", "audio")}
                for packet in source.demux(*[s for s in source.streams if s.index in streams]):
                    if packet.dts is None:
                        continue
                    packet.stream = streams[packet.stream.index]
                    sink.mux(packet)
        os.chmod(staging, 0o755)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder / PLAYLIST


def read_segments(playlist: Path) -> list[tuple[float, str]]:
    """(duration, segment file name) of each segment in a slot's VOD playlist."""
    entries, duration = [], None
    for line in playlist.read_text().splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:"):].split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            entries.append((duration, line.strip()))
            duration = None
    return entries

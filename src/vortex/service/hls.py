"""A finished slot MP4 cut into HLS segments, so a channel publishes each slot as soon as it is done.

A remux: the H.264 and AAC packets are copied, not re-encoded, into the layout and names of
``vortex.media.hls`` (``index.m3u8``, ``segment_NNNNN.ts``, a complete VOD playlist), whose
``channel_playlist`` then joins slots. The segments go into a temporary folder that is renamed
into place when complete, so no playlist ever points at a half-written segment. (When the
pipeline writes HLS while it renders, channel slots can use that sink instead.)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from vortex.media.hls import PLAYLIST_NAME, SEGMENT_NAME, SEGMENT_SECONDS


def segment_mp4(mp4: Path, folder: Path, segment_seconds: int = SEGMENT_SECONDS) -> Path:
    """Cut ``mp4`` into ``folder/segment_NNNNN.ts`` plus ``folder/index.m3u8``; returns the playlist."""
    import av

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
    try:
        with av.open(str(mp4)) as source:
            options = {
                "hls_time": str(segment_seconds),
                "hls_list_size": "0",
                "hls_playlist_type": "vod",
                "hls_segment_filename": str(staging / SEGMENT_NAME),
                "hls_flags": "independent_segments",
            }
            with av.open(str(staging / PLAYLIST_NAME), "w", format="hls", options=options) as sink:
                streams = {
                    s.index: sink.add_stream_from_template(s) for s in source.streams if s.type in ("video", "audio")
                }
                for packet in source.demux(*[s for s in source.streams if s.index in streams]):
                    if packet.dts is None:  # the demuxer's end-of-stream marker
                        continue
                    packet.stream = streams[packet.stream.index]
                    sink.mux(packet)
        os.chmod(staging, 0o755)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder / PLAYLIST_NAME

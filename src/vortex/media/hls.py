"""HLS out: a slot as a playlist of 2-second MPEG-TS segments that a player can start while the
slot is still rendering, and channel playlists that join several slots.

Layout of a slot's folder::

    index.m3u8            media playlist (EVENT while rendering; EXT-X-ENDLIST once complete)
    segment_00000.ts      H.264 + AAC, each segment starting with a keyframe
    segment_00001.ts ...

Segments are cut by FFmpeg's HLS muxer at keyframes, and the encoder puts a keyframe exactly
every ``segment_seconds * fps`` frames (fixed GOP), so every segment but the last lasts exactly
``segment_seconds``. Every file the muxer writes goes through ``_AtomicFiles``: it is written to
a hidden temporary name and renamed into place when complete, so a player polling the folder
never reads half a segment or half a playlist; after ``abort`` the same hook discards what the
muxer still writes (it would otherwise finish the playlist with EXT-X-ENDLIST) and everything
published is removed.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence


from vortex.config import SAMPLE_RATE
from vortex.errors import InvalidInputError, MissingResourceError
from vortex.media.atomic import publish_mode, write_text_atomic
from vortex.media.encoder import AvEncoder, EncodedSink, check_rates, import_av, size_tuple

PLAYLIST_NAME = "index.m3u8"
SEGMENT_NAME = "segment_%05d.ts"
SEGMENT_SECONDS = 2
ENDLIST = "#EXT-X-ENDLIST"

_SCHEME = "vortexhls://"
"""A private URL scheme for the muxer's file names, so FFmpeg opens every file through our hook
(with the plain file protocol it would write and rename files itself)."""


def check_hls_folder(directory: str | os.PathLike[str], flag: str = "--hls") -> Path:
    """The folder an HLS sink may write into: missing (it is created) or empty.

    A non-empty folder is refused rather than mixed with: stale segments from another slot next
    to a new playlist would play as if they belonged to it.
    """
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(f"{flag}: {folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        raise InvalidInputError(f"{flag}: {folder} is not empty; give a new or empty folder")
    return folder


class _AtomicFiles:
    """The muxer's ``io_open`` hook: each file it writes is a temporary file, renamed over its
    real name when the muxer closes it, or deleted when the sink has been aborted."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.published: list[Path] = []
        self.open_files: list[_AtomicFile] = []
        self.discard = False

    def __call__(self, url: str, flags: int, options: dict) -> "_AtomicFile":
        name = Path(url[len(_SCHEME):] if url.startswith(_SCHEME) else url)
        if name.parent != self.directory:  # the muxer only ever names files in the sink's folder
            raise OSError(f"HLS muxer asked for a file outside {self.directory}: {name}")
        handle = _AtomicFile(self, name)
        self.open_files.append(handle)
        return handle


class _AtomicFile:
    def __init__(self, owner: _AtomicFiles, path: Path) -> None:
        self._owner, self.path = owner, path
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        self._tmp = Path(tmp)
        self._file = os.fdopen(fd, "wb")

    def write(self, data) -> int:
        return self._file.write(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if self._file.closed:
            return
        self._file.close()
        self._owner.open_files.remove(self)
        if self._owner.discard:
            self._tmp.unlink(missing_ok=True)
            return
        publish_mode(self._tmp)
        os.replace(self._tmp, self.path)
        if self.path not in self._owner.published:
            self._owner.published.append(self.path)

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        self._tmp.unlink(missing_ok=True)


class HlsSink(EncodedSink):
    """Streaming HLS sink: H.264 yuv420p + AAC mono in ``segment_seconds`` MPEG-TS segments.

    ``write``/``write_audio`` as for ``Mp4Writer`` (any order, any chunking, same bytes); the
    playlist ``directory/index.m3u8`` appears with the first finished segment and is rewritten
    (atomically) after each one; ``close`` writes the last segment and the final playlist with
    EXT-X-ENDLIST; ``abort`` (or an exception in a ``with`` block) removes every file, and the
    folder itself when the sink created it. ``directory`` must be missing or empty.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        fps: int,
        size: int | tuple[int, int],
        sample_rate: int = SAMPLE_RATE,
        segment_seconds: int = SEGMENT_SECONDS,
        crf: int = 20,
        preset: str = "veryfast",
    ) -> None:
        check_rates(fps, sample_rate)
        if not isinstance(segment_seconds, int) or segment_seconds < 1:
            raise InvalidInputError(f"segment_seconds must be a positive integer, got {segment_seconds!r}")
        self.directory = self._target = check_hls_folder(directory).absolute()
        self.playlist = self.directory / PLAYLIST_NAME
        self.fps = fps
        self.width, self.height = size_tuple(size)
        self.sample_rate = int(sample_rate)
        self.segment_seconds = segment_seconds
        self._created = not self.directory.exists()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._files = _AtomicFiles(self.directory)
        av = import_av()
        try:
            self._container = av.open(
                _SCHEME + str(self.playlist), mode="w", format="hls", io_open=self._files,
                options={
                    "hls_time": str(segment_seconds),
                    "hls_list_size": "0",  # keep every segment: the playlist is the whole slot
                    "hls_playlist_type": "event",  # segments are only ever appended
                    "hls_segment_type": "mpegts",
                    "hls_segment_filename": _SCHEME + str(self.directory / SEGMENT_NAME),
                    "hls_flags": "independent_segments",
                },
            )
            self._encoder = AvEncoder(self._container, fps, self.width, self.height, self.sample_rate, crf, preset,
                                      keyframe_interval=segment_seconds * fps)
        except av.error.FFmpegError as exc:
            self.abort()
            raise MissingResourceError(f"this PyAV build cannot write HLS with H.264/AAC ({exc}); install the PyPI wheel of av 18") from exc
        except BaseException:
            self.abort()
            raise

    @property
    def segments(self) -> list[str]:
        """Names of the segments published so far, in order."""
        return [p.name for p in self._files.published if p.suffix == ".ts"]

    def close(self) -> Path:
        """Write the last segment and the final playlist (EXT-X-ENDLIST); returns the playlist."""
        if self._closed:
            return self.playlist
        self._finish()
        self._closed = True
        return self.playlist

    def abort(self) -> None:
        """Remove every file written (playlist first, so players stop); the folder too if the sink made it."""
        if self._closed:
            return
        self._closed = True
        self._files.discard = True
        with contextlib.suppress(Exception):
            self._container.close()
        for handle in list(self._files.open_files):
            handle.discard()
        for path in sorted(self._files.published, key=lambda p: p.suffix != ".m3u8"):
            path.unlink(missing_ok=True)
        if self._created:
            shutil.rmtree(self.directory, ignore_errors=True)


# --- playlists ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """One media segment: its URI as the playlist writes it and its duration in seconds."""

    uri: str
    duration: float


@dataclass(frozen=True)
class MediaPlaylist:
    """What a player needs from a media playlist: segments in order, and whether it is complete."""

    path: Path
    segments: tuple[Segment, ...]
    ended: bool

    @property
    def duration(self) -> float:
        return sum(s.duration for s in self.segments)


def read_playlist(path: str | os.PathLike[str]) -> MediaPlaylist:
    """Parse an HLS media playlist (segments with their EXTINF durations, and EXT-X-ENDLIST)."""
    file = Path(path)
    try:
        lines = [line.strip() for line in file.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read HLS playlist {file}: {exc}") from None
    if not lines or lines[0] != "#EXTM3U":
        raise InvalidInputError(f"{file} is not an HLS playlist (no #EXTM3U header)")
    segments, duration = [], None
    for line in lines[1:]:
        if line.startswith("#EXTINF:"):
            try:
                duration = float(line[len("#EXTINF:"):].split(",", 1)[0])
            except ValueError:
                raise InvalidInputError(f"{file}: bad segment duration line {line!r}") from None
        elif line and not line.startswith("#"):
            if duration is None:
                raise InvalidInputError(f"{file}: segment {line!r} has no #EXTINF duration")
            segments.append(Segment(line, duration))
            duration = None
    return MediaPlaylist(file, tuple(segments), ENDLIST in lines)


def channel_playlist(slot_playlists: Sequence[str | os.PathLike[str]], output: str | os.PathLike[str],
                     live: bool = False, window: int | None = None) -> MediaPlaylist:
    """Join slots' media playlists, in order, into one channel playlist written atomically at ``output``.

    Each slot after the first starts with EXT-X-DISCONTINUITY (its timestamps start again and its
    encoder state is new); segment URIs are rewritten relative to ``output``'s folder. Every slot
    but the last must be complete; the channel ends (EXT-X-ENDLIST) when the last one has, and
    until then a player treats it as live and keeps polling. Rewrite it whenever a slot playlist
    changes or a slot is added: segments are only ever appended. ``live``: the channel takes more
    slots later (``vortex serve``), so it never ends, even when every slot so far is complete.
    ``window``: list only the last ``window`` segments (a sliding live playlist that stays small
    on a channel that runs for days): EXT-X-MEDIA-SEQUENCE counts the segments left out and
    EXT-X-DISCONTINUITY-SEQUENCE the slot boundaries left out with them, as the HLS spec asks,
    and the playlist is no longer an EVENT playlist (segments leave it).
    """
    if not slot_playlists:
        raise InvalidInputError("a channel playlist needs at least one slot playlist")
    if window is not None and (not isinstance(window, int) or window < 1):
        raise InvalidInputError(f"window must be a positive number of segments, got {window!r}")
    target = Path(output).absolute()
    slots = [read_playlist(p) for p in slot_playlists]
    for slot in slots[:-1]:
        if not slot.ended:
            raise InvalidInputError(f"slot playlist {slot.path} is not complete (no {ENDLIST}); only the last slot may be live")
    entries = []  # (starts a new slot after the first, uri, duration)
    for index, slot in enumerate(slots):
        base = slot.path.absolute().parent
        for position, segment in enumerate(slot.segments):
            uri = Path(os.path.relpath(base / segment.uri, target.parent)).as_posix()
            entries.append((index > 0 and position == 0, uri, segment.duration))
    dropped = entries[: max(0, len(entries) - window)] if window is not None else []
    kept = entries[len(dropped):]
    longest = max([1.0] + [duration for _, _, duration in entries])
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{math.ceil(longest - 1e-6)}",
             f"#EXT-X-MEDIA-SEQUENCE:{len(dropped)}",
             f"#EXT-X-DISCONTINUITY-SEQUENCE:{sum(1 for starts, _, _ in dropped if starts)}"]
    if window is None:
        lines.append("#EXT-X-PLAYLIST-TYPE:EVENT")
    for starts, uri, duration in kept:
        if starts:
            lines.append("#EXT-X-DISCONTINUITY")
        lines += [f"#EXTINF:{duration:.6f},", uri]
    if slots[-1].ended and not live:
        lines.append(ENDLIST)
    write_text_atomic(target, "\n".join(lines) + "\n")
    return read_playlist(target)

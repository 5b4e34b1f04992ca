"""HLS sink and channel playlists, checked by playing the playlists back with PyAV (FFmpeg's HLS demuxer)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from vortex.errors import InvalidInputError
from vortex.media.hls import HlsSink, channel_playlist, check_hls_folder, read_playlist

FPS = 24
SR = 24_000
SIZE = 128  # x264 output is reproducible from 128 px (see test_media_video._frames)


def _frames(n: int, offset: int = 0) -> np.ndarray:
    """Smooth gradient frames with a moving square (compresses like real video)."""
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    out = np.empty((n, SIZE, SIZE, 3), np.uint8)
    for i in range(n):
        img = np.stack([x * 255 // SIZE, y * 255 // SIZE, np.full_like(x, 60 + offset)], -1).astype(np.uint8)
        c = 8 + ((i + offset) * 3) % (SIZE - 24)
        img[c : c + 16, c : c + 16] = 255
        out[i] = img
    return out


def _noise(n: int, seed: int = 0) -> np.ndarray:
    return (0.2 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def _write(folder: Path, frames: np.ndarray, audio: np.ndarray, chunk: int = 10, audio_first: bool = True) -> Path:
    """Frames in chunks with each chunk's audio before it (as speech leads) or after it."""
    per_frame = SR // FPS
    with HlsSink(folder, FPS, SIZE) as sink:
        for i in range(0, len(frames), chunk):
            piece = audio[i * per_frame : (i + chunk) * per_frame]
            if audio_first:
                sink.write_audio(piece)
            sink.write(frames[i : i + chunk])
            if not audio_first:
                sink.write_audio(piece)
    return folder / "index.m3u8"


def _play(playlist: Path):
    """Decode a playlist as a player would: video frames with times, audio placed by its timestamps."""
    with av.open(str(playlist)) as container:
        duration = container.duration / 1e6  # a complete (VOD or ended EVENT) playlist states its length
        streams = container.streams
        rate = streams.audio[0].codec_context.sample_rate if streams.audio else None
        video, times, audio_frames = [], [], []
        for frame in container.decode(*streams):
            if isinstance(frame, av.VideoFrame):
                video.append(frame.to_ndarray(format="rgb24"))
                times.append(float(frame.time))
            else:
                audio_frames.append((float(frame.time), frame.to_ndarray().reshape(-1)))
    start = times[0]
    # Samples positioned by their presentation time relative to the first video frame: what a
    # player does. The AAC priming frame is stamped before the first frame, so it falls off the front.
    audio = np.zeros(int(round((times[-1] - start + 1) * SR)), np.float32)
    for t, samples in audio_frames:
        at = int(round((t - start) * SR))
        lo = max(at, 0)
        hi = min(at + samples.size, audio.size)
        if hi > lo:
            audio[lo:hi] = samples[lo - at : hi - at]
    return duration, np.stack(video), np.asarray(times) - start, audio, rate


def test_hls_playlist_plays_start_to_end_with_aligned_audio(tmp_path):
    frames, audio = _frames(132), _noise(132 * 1000, seed=3)  # 5.5 s
    playlist = _write(tmp_path / "slot", frames, audio)
    parsed = read_playlist(playlist)
    assert parsed.ended and [s.duration for s in parsed.segments] == [2.0, 2.0, 1.5]
    assert [s.uri for s in parsed.segments] == ["segment_00000.ts", "segment_00001.ts", "segment_00002.ts"]
    assert sorted(p.name for p in (tmp_path / "slot").iterdir()) == ["index.m3u8"] + [s.uri for s in parsed.segments]

    duration, video, times, decoded, rate = _play(playlist)
    assert duration == pytest.approx(5.5, abs=0.05)
    assert video.shape == (132, SIZE, SIZE, 3) and rate == SR
    assert np.allclose(times, np.arange(132) / FPS, atol=1e-3)  # every frame, in order, on time
    assert np.abs(video.astype(int) - frames.astype(int)).mean() < 4  # CRF 20 leaves a few grey levels
    # A/V alignment: the decoded audio, placed by its timestamps, matches the input at lag 0
    # (the AAC priming, 1024 samples, would show as a lag of 1024 if it were not accounted for).
    n = 60_000
    lags = np.arange(-1500, 1501)
    scores = [np.dot(decoded[20_000 + k : 20_000 + k + n], audio[20_000 : 20_000 + n]) for k in lags]
    assert lags[int(np.argmax(scores))] == 0
    assert np.corrcoef(decoded[: audio.size], audio)[0, 1] > 0.9


def test_each_segment_starts_with_a_keyframe_and_decodes_alone(tmp_path):
    playlist = _write(tmp_path / "slot", _frames(120), _noise(120 * 1000))
    counts = []
    for segment in read_playlist(playlist).segments:
        with av.open(str(tmp_path / "slot" / segment.uri)) as container:
            decoded = list(container.decode(video=0))
        assert decoded[0].key_frame
        assert sum(f.key_frame for f in decoded) == 1  # fixed GOP: exactly one keyframe per segment
        counts.append(len(decoded))
    assert counts == [48, 48, 24]


PLAYER = """
import sys, av
container = av.open(sys.argv[1], options={"live_start_index": "0"})  # live: start at the first segment
print("opened", flush=True)
print(sum(1 for _ in container.decode(video=0)), flush=True)
"""


def test_a_player_starts_while_the_slot_renders_and_plays_to_the_end(tmp_path):
    """The live playlist lists only finished segments, never EXT-X-ENDLIST, and every file a player
    can see is complete; a real player (FFmpeg's HLS demuxer, in another process) opened before
    the end follows the playlist to the last frame."""
    folder = tmp_path / "live"
    frames, audio = _frames(150), _noise(150 * 1000)
    seen = []
    with HlsSink(folder, FPS, SIZE) as sink:
        sink.write_audio(audio)
        for i in range(0, 114, 6):
            sink.write(frames[i : i + 6])
            visible = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
            if "index.m3u8" in visible:
                live = read_playlist(folder / "index.m3u8")
                assert not live.ended
                assert all((folder / s.uri).is_file() for s in live.segments)
                assert set(visible) == {"index.m3u8"} | {s.uri for s in live.segments}
                seen.append(len(live.segments))
        assert seen and seen[0] == 1 and seen[-1] == 2  # segments appear as they are finished
        player = subprocess.Popen([sys.executable, "-c", PLAYER, str(folder / "index.m3u8")], stdout=subprocess.PIPE, text=True)
        try:
            assert player.stdout.readline().strip() == "opened"  # the player started before the end
            sink.write(frames[114:])
        except BaseException:
            player.kill()
            raise
    out, _ = player.communicate(timeout=120)
    assert player.returncode == 0 and int(out.strip()) == 150
    assert read_playlist(folder / "index.m3u8").ended


def test_same_input_same_segment_bytes_however_it_arrives(tmp_path):
    frames, audio = _frames(100), _noise(100 * 1000, seed=9)
    a = _write(tmp_path / "a", frames, audio, chunk=4, audio_first=True).parent
    b = _write(tmp_path / "b", frames, audio, chunk=13, audio_first=False).parent

    def digests(folder: Path) -> dict:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}

    assert digests(a) == digests(b)
    assert len(digests(a)) == 4


@pytest.mark.parametrize("interrupt", [RuntimeError("boom"), KeyboardInterrupt()])
def test_abort_removes_everything(tmp_path, interrupt):
    frames, audio = _frames(120), _noise(120 * 1000)
    made = tmp_path / "made"
    with pytest.raises(type(interrupt)):
        with HlsSink(made, FPS, SIZE) as sink:
            sink.write_audio(audio)
            sink.write(frames[:110])
            assert len(sink.segments) >= 1  # published files exist before the failure
            raise interrupt
    assert not made.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(type(interrupt)):
        with HlsSink(empty, FPS, SIZE) as sink:
            sink.write(frames[:110])
            raise interrupt
    assert empty.is_dir() and list(empty.iterdir()) == []  # a folder the caller made is left, empty


def test_refuses_a_non_empty_folder_or_a_file(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.ts").write_bytes(b"x")
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(InvalidInputError, match="not empty"):
        HlsSink(tmp_path / "full", FPS, SIZE)
    with pytest.raises(InvalidInputError, match="not a folder"):
        check_hls_folder(tmp_path / "file")
    with pytest.raises(InvalidInputError):
        HlsSink(tmp_path / "odd", FPS, 63)
    with pytest.raises(InvalidInputError):
        with HlsSink(tmp_path / "none", FPS, SIZE):
            pass  # no frames
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "full"]
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["old.ts"]


def test_channel_playlist_joins_slots_with_discontinuities(tmp_path):
    first = _write(tmp_path / "slots" / "a", _frames(60), _noise(60 * 1000, seed=1))
    second = _write(tmp_path / "slots" / "b", _frames(84, offset=40), _noise(84 * 1000, seed=2))
    channel = channel_playlist([first, second], tmp_path / "channel" / "live.m3u8")
    text = (tmp_path / "channel" / "live.m3u8").read_text()
    assert text.count("#EXT-X-DISCONTINUITY\n") == 1 and text.rstrip().endswith("#EXT-X-ENDLIST")
    assert "#EXT-X-TARGETDURATION:2" in text
    assert [s.uri for s in channel.segments] == ["../slots/a/segment_00000.ts", "../slots/a/segment_00001.ts",
                                                 "../slots/b/segment_00000.ts", "../slots/b/segment_00001.ts"]
    assert channel.duration == pytest.approx(2.5 + 3.5)
    with av.open(str(tmp_path / "channel" / "live.m3u8")) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(decoded) == 60 + 84
    expected = np.concatenate([_frames(60), _frames(84, offset=40)])
    assert np.abs(np.stack(decoded).astype(int) - expected.astype(int)).mean() < 4  # slots in order


def test_channel_with_a_live_last_slot_is_not_ended_and_earlier_slots_must_be_complete(tmp_path):
    done = _write(tmp_path / "a", _frames(48), _noise(48 * 1000))
    live = tmp_path / "b"
    with HlsSink(live, FPS, SIZE) as sink:
        sink.write_audio(_noise(150 * 1000))
        sink.write(_frames(110))
        assert (live / "index.m3u8").is_file()
        channel = channel_playlist([done, live / "index.m3u8"], tmp_path / "channel.m3u8")
        assert not channel.ended and len(channel.segments) == 1 + len(sink.segments)
        with pytest.raises(InvalidInputError, match="not complete"):
            channel_playlist([live / "index.m3u8", done], tmp_path / "bad.m3u8")
        sink.write(_frames(40))
    assert channel_playlist([done, live / "index.m3u8"], tmp_path / "channel.m3u8").ended
    assert not (tmp_path / "bad.m3u8").exists()
    with pytest.raises(InvalidInputError):
        channel_playlist([], tmp_path / "empty.m3u8")


def test_a_sliding_window_keeps_the_last_segments_with_their_sequence_numbers(tmp_path):
    """window=N: a live channel's playlist stays small; the sequence numbers count what left it."""
    a = _write(tmp_path / "a", _frames(48), _noise(48 * 1000, seed=1))  # one 2 s segment
    b = _write(tmp_path / "b", _frames(60, offset=20), _noise(60 * 1000, seed=2))  # 2 s + 0.5 s
    c = _write(tmp_path / "c", _frames(48, offset=40), _noise(48 * 1000, seed=3))  # one 2 s segment
    channel = channel_playlist([a, b, c], tmp_path / "live.m3u8", live=True, window=2)
    text = (tmp_path / "live.m3u8").read_text()
    assert "#EXT-X-MEDIA-SEQUENCE:2\n" in text  # a's and b's first segments left the window
    assert "#EXT-X-DISCONTINUITY-SEQUENCE:1\n" in text  # with them, the boundary before b
    assert text.count("#EXT-X-DISCONTINUITY\n") == 1  # the boundary before c is still listed
    assert "PLAYLIST-TYPE" not in text and "ENDLIST" not in text
    assert [s.uri for s in channel.segments] == ["b/segment_00001.ts", "c/segment_00000.ts"]
    with av.open(str(tmp_path / "live.m3u8"), options={"live_start_index": "0", "m3u8_hold_counters": "1"}) as container:
        assert sum(1 for _ in container.decode(video=0)) == 12 + 48  # the window plays: b's last half second, then c
    whole = channel_playlist([a, b, c], tmp_path / "all.m3u8", window=10)  # a window wider than the channel
    assert len(whole.segments) == 4 and whole.ended
    with pytest.raises(InvalidInputError, match="window"):
        channel_playlist([a], tmp_path / "x.m3u8", window=0)


def test_an_mp4_and_an_hls_folder_fed_together_have_the_bytes_of_each_alone(tmp_path):
    """A slot with both outputs converts each frame to YUV once for both encoders
    (``write_to_sinks``); the files must be those of each sink written on its own."""
    from vortex.media.encoder import write_to_sinks
    from vortex.media.frames import PngFramesSink
    from vortex.media.video import Mp4Writer

    frames, audio = _frames(60), _noise(60 * 1000, seed=4)
    alone_hls = _write(tmp_path / "alone", frames, audio, chunk=6).parent
    with Mp4Writer(tmp_path / "alone.mp4", FPS, SIZE) as mp4:
        mp4.write_audio(audio)
        mp4.write(frames)
    sinks = [Mp4Writer(tmp_path / "both.mp4", FPS, SIZE), HlsSink(tmp_path / "both", FPS, SIZE), PngFramesSink(tmp_path / "png")]
    per_frame = SR // FPS
    for i in range(0, len(frames), 6):
        for sink in sinks:
            sink.write_audio(audio[i * per_frame : (i + 6) * per_frame])
        for j in range(i, i + 6):
            write_to_sinks(sinks, frames[j : j + 1])
    for sink in sinks:
        sink.close()

    def digests(folder: Path) -> dict:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}

    assert (tmp_path / "both.mp4").read_bytes() == (tmp_path / "alone.mp4").read_bytes()
    assert digests(tmp_path / "both") == digests(alone_hls) and len(digests(alone_hls)) >= 2
    assert len(list((tmp_path / "png").glob("*.png"))) == 60

"""The service's files under ``--data``: uploads, finished slots and their HLS segments.

```
DATA/vortex.db                    jobs and channels (store.py)
DATA/slots/<id>/photo.<ext>       uploads, kept until the job ends (a queued job survives a restart)
DATA/slots/<id>/video.mp4         the finished slot
DATA/slots/<id>/report.json       its report (also for a failed slot)
DATA/slots/<id>/thumbnail.jpg     a frame for the programme guide
DATA/slots/<id>/hls/              the slot cut into HLS segments (channel slots)
DATA/channels/<name>/index.m3u8   a channel's live playlist (segments: ../../slots/<id>/hls/...)
DATA/work/                        executors' private temporary folders, emptied at start
```

Every file is written to a temporary name and renamed into place (``vortex.media.atomic``);
``sweep()`` removes temporary files a crash left behind.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from vortex.media.atomic import write_bytes_atomic

_ID = re.compile(r"^[0-9a-f]{16}$")


class SlotFiles:
    def __init__(self, data_dir: str | Path) -> None:
        self.root = Path(data_dir)
        self.slots = self.root / "slots"
        self.work = self.root / "work"
        self.slots.mkdir(parents=True, exist_ok=True)

    @property
    def database(self) -> Path:
        return self.root / "vortex.db"

    def folder(self, job_id: str) -> Path:
        if not _ID.match(job_id):  # ids come from URLs: never let one walk out of slots/
            raise ValueError(f"not a job id: {job_id!r}")
        return self.slots / job_id

    def video(self, job_id: str) -> Path:
        return self.folder(job_id) / "video.mp4"

    def report(self, job_id: str) -> Path:
        return self.folder(job_id) / "report.json"

    def thumbnail(self, job_id: str) -> Path:
        return self.folder(job_id) / "thumbnail.jpg"

    def hls(self, job_id: str) -> Path:
        return self.folder(job_id) / "hls"

    def channel_playlist(self, name: str) -> Path:
        """``name`` is checked by ``channels.check_channel_name`` before any channel exists."""
        return self.root / "channels" / name / "index.m3u8"

    def upload(self, job_id: str, kind: str, suffix: str) -> Path:
        return self.folder(job_id) / f"{kind}{suffix}"

    def write(self, path: Path, data: bytes) -> None:
        write_bytes_atomic(path, data)

    def remove_uploads(self, job_id: str, uploads: dict[str, str]) -> None:
        for kind, suffix in uploads.items():
            self.upload(job_id, kind, suffix).unlink(missing_ok=True)

    def remove(self, job_id: str) -> None:
        shutil.rmtree(self.folder(job_id), ignore_errors=True)

    def sweep(self) -> list[Path]:
        """Delete the temporary files an interrupted write left (``.name.XXXX.partial.ext``)."""
        removed = []
        for path in [*self.slots.rglob(".*.partial*"), *self.root.glob("channels/*/.*.partial*")]:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
        return removed

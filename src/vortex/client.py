"""``VortexClient``: drive a ``vortex serve`` server from Python (what ``vortex submit`` uses).

```python
from vortex.client import VortexClient

client = VortexClient("http://127.0.0.1:8700", token=None)
slot_id = client.submit({"audio_track": {"script": "Hello."}, "visual_track": {"prompt": "robot"}})
for status in client.events(slot_id):          # Server-Sent Events until done/failed/cancelled
    print(status["progress"])
client.wait(slot_id)                            # the final status; raises ServerError if it failed
client.download(slot_id, "slot.mp4")            # written atomically
```

A recipe given as a file path may name a local ``photo_file``/``audio_file``: the client uploads
those files (servers accept uploads only), so a recipe that works with ``vortex generate
--recipe`` works here unchanged. Errors the server answers with become ``ServerError`` carrying
the status code, the field and the server's one-line message.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

from vortex.errors import InvalidInputError, VortexError

FINAL = ("done", "failed", "cancelled")


class ServerError(VortexError):
    """The server refused a request or the slot failed. ``status``: the HTTP status (0 for a
    failed slot); ``exit_code`` follows the CLI's (2 invalid input, 3 deadline, 1 otherwise)."""

    def __init__(
        self,
        message: str,
        status: int = 0,
        field: str | None = None,
        exit_code: int = 1,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.exit_code = exit_code
        self.retry_after = retry_after


def load_recipe_file(path: str | os.PathLike[str]) -> tuple[dict, dict[str, Path]]:
    """A recipe file and the local files it names, taken out of it to be uploaded."""
    p = Path(path)
    try:
        recipe = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"--recipe: file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"--recipe: cannot read {p}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"--recipe: {p} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    files: dict[str, Path] = {}
    if isinstance(recipe, dict):
        for track, key, kind in (("visual_track", "photo_file", "photo"), ("audio_track", "audio_file", "audio")):
            section = recipe.get(track)
            if isinstance(section, dict) and isinstance(section.get(key), str):
                local = Path(section.pop(key)).expanduser()
                files[kind] = local if local.is_absolute() else p.parent / local
    return recipe, files


class VortexClient:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 60.0) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "VortexClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- requests ---------------------------------------------------------------------------

    def _check(self, response) -> Any:
        if response.status_code >= 400:
            response.read()  # a streamed error answer is small
            try:
                body = response.json()
                message, field = body.get("detail", response.text), body.get("field")
            except ValueError:
                message, field = response.text.strip() or response.reason_phrase, None
            retry = response.headers.get("retry-after")
            raise ServerError(
                f"server answered {response.status_code}: {message}",
                response.status_code,
                field,
                2 if response.status_code in (413, 415, 422) else 1,
                float(retry) if retry else None,
            )
        return response

    def submit(
        self,
        recipe: dict | str | os.PathLike[str],
        photo: str | os.PathLike[str] | bytes | None = None,
        audio: str | os.PathLike[str] | bytes | None = None,
        idempotency_key: str | None = None,
        channel: str | None = None,
    ) -> str:
        """Queue a slot; returns its id. ``recipe``: a dict, or a recipe file (its local files are uploaded)."""
        uploads: dict[str, Any] = {}
        if not isinstance(recipe, dict):
            recipe, files = load_recipe_file(recipe)
            uploads.update(files)
        for kind, value in (("photo", photo), ("audio", audio)):
            if value is not None:
                uploads[kind] = value
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        url = f"/v1/channels/{channel}/slots" if channel else "/v1/slots"
        if uploads:
            parts = {}
            for kind, value in uploads.items():
                data = value if isinstance(value, bytes) else Path(value).read_bytes()
                name = f"{kind}.bin" if isinstance(value, bytes) else Path(value).name
                parts[kind] = (name, data)
            response = self._http.post(url, data={"recipe": json.dumps(recipe)}, files=parts, headers=headers)
        else:
            response = self._http.post(url, json=recipe, headers=headers)
        return self._check(response).json()["id"]

    def status(self, slot_id: str) -> dict:
        return self._check(self._http.get(f"/v1/slots/{slot_id}")).json()

    def cancel(self, slot_id: str) -> dict:
        return self._check(self._http.delete(f"/v1/slots/{slot_id}")).json()

    def events(self, slot_id: str, timeout: float | None = None) -> Iterator[dict]:
        """Status dicts from the server's event stream, the last one final (done/failed/cancelled)."""
        import httpx

        with self._http.stream(
            "GET", f"/v1/slots/{slot_id}/events", timeout=httpx.Timeout(timeout, connect=30.0)
        ) as response:
            self._check(response)
            data: list[str] = []
            for line in response.iter_lines():
                if line.startswith("data:"):
                    data.append(line[5:].strip())
                elif not line and data:
                    status = json.loads("\n".join(data))
                    data = []
                    yield status
                    if status["status"] in FINAL:
                        return

    def wait(self, slot_id: str, timeout: float | None = None) -> dict:
        """Block until the slot ends; returns its final status, raises ``ServerError`` unless done."""
        status = self.status(slot_id)
        if status["status"] not in FINAL:
            for status in self.events(slot_id, timeout=timeout):
                pass
        if status["status"] != "done":
            code = (status.get("report") or {}).get("exit_code") or 1
            raise ServerError(
                f"slot {slot_id} {status['status']}: {status.get('error') or 'cancelled'}", 0, None, int(code)
            )
        return status

    def download(self, slot_id: str, path: str | os.PathLike[str]) -> Path:
        """Save the slot's MP4 to ``path`` (complete or not at all)."""
        from vortex.media.atomic import atomic_output

        with atomic_output(path) as tmp, self._http.stream("GET", f"/v1/slots/{slot_id}/video.mp4") as response:
            self._check(response)
            with open(tmp, "wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
        return Path(path)

    def create_channel(self, name: str, recipes: list[dict]) -> dict:
        return self._check(self._http.post("/v1/channels", json={"name": name, "recipes": recipes})).json()

    def program(self, name: str, recipes: list[dict]) -> list[str]:
        """Put ``recipes`` on channel ``name`` in order: a new channel is created with them, an
        existing one gets them appended. Returns the slot ids."""
        if self._http.get(f"/v1/channels/{name}").status_code == 404:
            return [slot["id"] for slot in self.create_channel(name, recipes)["slots"]]
        return [self.submit(recipe, channel=name) for recipe in recipes]

    def channel(self, name: str) -> dict:
        return self._check(self._http.get(f"/v1/channels/{name}")).json()

"""Every production backend's official files: where they come from, where they go, how to check them.

Layout: ``models_dir() / <backend name> / <local path>``. For Kokoro and Flux the local paths
mirror the Hugging Face repository, so ``FluxPipeline.from_pretrained(backend_dir("flux-schnell"))``
reads them as they are; LivePortrait drops the repository's ``liveportrait/`` prefix.

Exact sizes and hashes of the official files could not be read from here (the hub is
unreachable), so none are hard-coded: ``download`` records the size and sha256 the hub reports
for each file in ``<backend dir>/.vortex-lock.json`` and checks the downloaded bytes against
them; ``verify`` re-checks files against that record and also checks what every file's format
allows without a reference (a safetensors header must account for the file's exact size, a
``.pth`` must be a readable torch archive, a ``.json`` must parse). ``approx_bytes`` is only
for listings and the disk-space estimate.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from vortex.config import models_dir as default_models_dir
from vortex.errors import InvalidInputError, MissingResourceError, ModelIntegrityError
from vortex.media.atomic import write_text_atomic
from vortex.speech.voices import ENGLISH_FOR_PACK, KOKORO_ENGLISH_VOICES

LOCK_NAME = ".vortex-lock.json"
_MB = 1_000_000


@dataclass(frozen=True)
class ModelFile:
    """One official file. ``required`` files must all be present for the backend to be usable."""

    repo_path: str
    local_path: str
    approx_bytes: int
    required: bool = True
    size: int | None = None
    """Exact size in bytes when known independently of a download; None otherwise."""
    sha256: str | None = None


@dataclass(frozen=True)
class ModelBackend:
    name: str
    stage: str
    title: str
    repo_id: str
    files: tuple[ModelFile, ...]
    license: str
    note: str = ""
    revision: str = "main"

    def url(self, file: ModelFile) -> str:
        return f"https://huggingface.co/{self.repo_id}/resolve/{self.revision}/{file.repo_path}"


def _mirror(paths_and_sizes: list[tuple[str, int]], required: bool = True) -> list[ModelFile]:
    return [ModelFile(path, path, size, required) for path, size in paths_and_sizes]


KOKORO_REQUIRED_VOICES = tuple(ENGLISH_FOR_PACK.values())
"""Voices every Vortex voice id needs (the rest are optional extras); the voices themselves are
speech's (``vortex.speech.voices``), the registry only lists their files."""

_KOKORO = ModelBackend(
    name="kokoro",
    stage="speech",
    title="Kokoro-82M v1.0 (PyTorch weights, English voices)",
    repo_id="hexgrad/Kokoro-82M",
    license="Apache-2.0",
    files=tuple(
        _mirror([("config.json", 2_400), ("kokoro-v1_0.pth", 327 * _MB)])
        + [
            ModelFile(f"voices/{v}.pt", f"voices/{v}.pt", 523_000, required=v in KOKORO_REQUIRED_VOICES)
            for v in KOKORO_ENGLISH_VOICES
        ]
    ),
    note="needs: pip install 'vortex[kokoro]' && pip install --no-deps kokoro==0.9.4",
)

_FLUX = ModelBackend(
    name="flux-schnell",
    stage="actor",
    title="FLUX.1 [schnell] (diffusers layout)",
    repo_id="black-forest-labs/FLUX.1-schnell",
    license="Apache-2.0",
    files=tuple(
        _mirror(
            [
                ("model_index.json", 600),
                ("scheduler/scheduler_config.json", 500),
                ("text_encoder/config.json", 600),
                ("text_encoder/model.safetensors", 246 * _MB),
                ("text_encoder_2/config.json", 800),
                ("text_encoder_2/model.safetensors.index.json", 20_000),
                ("text_encoder_2/model-00001-of-00002.safetensors", 4_994 * _MB),
                ("text_encoder_2/model-00002-of-00002.safetensors", 4_530 * _MB),
                ("tokenizer/merges.txt", 525_000),
                ("tokenizer/special_tokens_map.json", 600),
                ("tokenizer/tokenizer_config.json", 700),
                ("tokenizer/vocab.json", 1_060_000),
                ("tokenizer_2/special_tokens_map.json", 2_500),
                ("tokenizer_2/spiece.model", 792_000),
                ("tokenizer_2/tokenizer.json", 2_420_000),
                ("tokenizer_2/tokenizer_config.json", 21_000),
                ("transformer/config.json", 400),
                ("transformer/diffusion_pytorch_model.safetensors.index.json", 120_000),
                ("transformer/diffusion_pytorch_model-00001-of-00003.safetensors", 9_984 * _MB),
                ("transformer/diffusion_pytorch_model-00002-of-00003.safetensors", 9_949 * _MB),
                ("transformer/diffusion_pytorch_model-00003-of-00003.safetensors", 3_870 * _MB),
                ("vae/config.json", 800),
                ("vae/diffusion_pytorch_model.safetensors", 168 * _MB),
            ]
        )
    ),
    note="needs: pip install 'vortex[flux]' (+ bitsandbytes on CUDA for NF4); about 34 GB on disk",
)

LIVEPORTRAIT_REPO = "KwaiVGI/LivePortrait"
LIVEPORTRAIT_SUBFOLDER = "liveportrait"
"""The folder of the HF repository holding the human model (dropped in the local layout)."""
LIVEPORTRAIT_BASE_FILES = {
    "appearance": "base_models/appearance_feature_extractor.pth",
    "motion": "base_models/motion_extractor.pth",
    "warping": "base_models/warping_module.pth",
    "generator": "base_models/spade_generator.pth",
}
"""Network name -> file (the animator's loader reads them; the registry lists and fetches them)."""
LIVEPORTRAIT_RETARGETING_FILE = "retargeting_models/stitching_retargeting_module.pth"
LIVEPORTRAIT_FILES = (*LIVEPORTRAIT_BASE_FILES.values(), LIVEPORTRAIT_RETARGETING_FILE)


def _liveportrait() -> ModelBackend:
    approx = {  # float32 parameter counts x 4 bytes, from the reference manifest
        "base_models/appearance_feature_extractor.pth": 3_400_000,
        "base_models/motion_extractor.pth": 112_600_000,
        "base_models/warping_module.pth": 182_200_000,
        "base_models/spade_generator.pth": 221_800_000,
        "retargeting_models/stitching_retargeting_module.pth": 910_000,
    }
    return ModelBackend(
        name="liveportrait",
        stage="animator",
        title="LivePortrait (human) networks F, M, W, G and the retargeting MLPs",
        repo_id=LIVEPORTRAIT_REPO,
        license="MIT (code), see the repository for the weights",
        files=tuple(ModelFile(f"{LIVEPORTRAIT_SUBFOLDER}/{path}", path, approx.get(path, 0)) for path in LIVEPORTRAIT_FILES),
        note="needs: pip install 'vortex[torch]'",
    )


_LIVEPORTRAIT = _liveportrait()

BACKENDS: dict[str, ModelBackend] = {b.name: b for b in (_KOKORO, _FLUX, _LIVEPORTRAIT)}


def get_backend(name: str) -> ModelBackend:
    try:
        return BACKENDS[name]
    except KeyError:
        raise InvalidInputError(f"unknown model backend {name!r}; choose from: {', '.join(BACKENDS)}") from None


def backend_dir(backend: ModelBackend | str, models_dir: Path | str | None = None) -> Path:
    """Where ``backend``'s files live: ``<models dir>/<name>``."""
    backend = get_backend(backend) if isinstance(backend, str) else backend
    root = Path(models_dir).expanduser() if models_dir is not None else default_models_dir()
    return root / backend.name


@dataclass(frozen=True)
class FileStatus:
    file: ModelFile
    path: Path
    present: bool
    size: int | None
    """Bytes on disk when present."""


def file_statuses(backend: ModelBackend | str, models_dir: Path | str | None = None) -> list[FileStatus]:
    backend = get_backend(backend) if isinstance(backend, str) else backend
    root = backend_dir(backend, models_dir)
    out = []
    for f in backend.files:
        path = root / f.local_path
        present = path.is_file()
        out.append(FileStatus(f, path, present, path.stat().st_size if present else None))
    return out


def missing_files(backend: ModelBackend | str, models_dir=None, *, required_only: bool = True) -> list[FileStatus]:
    return [s for s in file_statuses(backend, models_dir) if not s.present and (s.file.required or not required_only)]


def _where_to_get(backend: ModelBackend, statuses: list[FileStatus], root: Path) -> str:
    lines = [f"  {backend.url(s.file)}\n    -> {s.path}" for s in statuses]
    return "\n".join(lines)


def require(backend: ModelBackend | str, models_dir: Path | str | None = None) -> Path:
    """The backend's directory if all its required files are present, else MissingResourceError.

    The message names every missing file, the command that downloads them and, for machines
    without internet, the URL of each file and the exact path to copy it to.
    """
    backend = get_backend(backend) if isinstance(backend, str) else backend
    root = backend_dir(backend, models_dir)
    missing = missing_files(backend, models_dir)
    if missing:
        raise MissingResourceError(
            f"{backend.title} is missing {len(missing)} file(s) under {root}. "
            f"Run `vortex models download {backend.name}` (needs internet), or copy them there:\n"
            + _where_to_get(backend, missing, root)
        )
    return root


def read_lock(root: Path) -> dict:
    path = root / LOCK_NAME
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def download(
    backend: ModelBackend | str,
    models_dir: Path | str | None = None,
    *,
    include_optional: bool = True,
    on_file: Callable[[ModelFile, Path], None] | None = None,
) -> list[Path]:
    """Fetch the backend's missing files from the hub into its directory; returns the new paths.

    Each file is downloaded into a staging folder, checked against the size and sha256 the hub
    reports, then moved into place, so an interrupted download never leaves a file that looks
    complete. Any failure to reach the hub (offline, blocked, needs a token) becomes one
    MissingResourceError naming the files still missing and where to put them.
    """
    backend = get_backend(backend) if isinstance(backend, str) else backend
    root = backend_dir(backend, models_dir)
    todo = [s for s in file_statuses(backend, models_dir) if not s.present and (include_optional or s.file.required)]
    if not todo:
        return []
    try:
        import huggingface_hub
    except ImportError as exc:
        raise MissingResourceError("downloading models needs huggingface_hub: pip install huggingface_hub") from exc

    staging = root / ".download"
    lock = read_lock(root)
    lock.update({"repo_id": backend.repo_id, "revision": backend.revision})
    recorded = lock.setdefault("files", {})
    done: list[Path] = []
    pending = list(todo)
    try:
        infos = _remote_infos(huggingface_hub, backend, [s.file for s in todo])
        for status in todo:
            f = status.file
            fetched = Path(
                huggingface_hub.hf_hub_download(
                    repo_id=backend.repo_id, filename=f.repo_path, revision=backend.revision, local_dir=staging
                )
            )
            size, sha = infos.get(f.repo_path, (None, None))
            _check_download(fetched, f, size, sha)
            status.path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(fetched, status.path)
            recorded[f.local_path] = {"size": status.path.stat().st_size, "sha256": sha}
            write_text_atomic(root / LOCK_NAME, json.dumps(lock, indent=1, sort_keys=True) + "\n")
            done.append(status.path)
            pending.remove(status)
            if on_file is not None:
                on_file(f, status.path)
    except (MissingResourceError, ModelIntegrityError):
        raise
    except Exception as exc:  # noqa: BLE001 - network stacks raise many types; all mean "not fetched"
        raise MissingResourceError(
            f"could not download {backend.title} from https://huggingface.co/{backend.repo_id} "
            f"({type(exc).__name__}: {_first_line(exc)}). {len(pending)} file(s) still missing; "
            f"on a machine with internet fetch them and put them here:\n" + _where_to_get(backend, pending, root)
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return done


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "no details"


def _remote_infos(hub, backend: ModelBackend, files: list[ModelFile]) -> dict[str, tuple[int | None, str | None]]:
    """Size and LFS sha256 the hub reports for each file (sha is None for small non-LFS files)."""
    api = hub.HfApi()
    out: dict[str, tuple[int | None, str | None]] = {}
    for info in api.get_paths_info(backend.repo_id, [f.repo_path for f in files], revision=backend.revision):
        lfs = getattr(info, "lfs", None)
        sha = getattr(lfs, "sha256", None) if lfs is not None else None
        out[info.path] = (getattr(info, "size", None), sha)
    return out


def _check_download(path: Path, file: ModelFile, size: int | None, sha: str | None) -> None:
    actual = path.stat().st_size
    for expected in (size, file.size):
        if expected is not None and actual != expected:
            raise ModelIntegrityError(f"downloaded {file.repo_path} has {actual} bytes, expected {expected}")
    for expected in (sha, file.sha256):
        if expected is not None and sha256_file(path) != expected:
            raise ModelIntegrityError(f"downloaded {file.repo_path} does not match its sha256 {expected}")


@dataclass(frozen=True)
class VerifyResult:
    status: FileStatus
    state: str
    """"ok", "missing", "size-mismatch", "hash-mismatch" or "corrupt"."""
    detail: str
    checked: tuple[str, ...] = ()
    """What was checked for an ok file: "size", "sha256", "format"."""

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def verify(backend: ModelBackend | str, models_dir: Path | str | None = None, *, hashes: bool = True) -> list[VerifyResult]:
    """Check every present file's size, sha256 (when a reference exists) and format.

    References: the registry's exact values, else what ``download`` recorded from the hub.
    Files copied in by hand have no recorded reference, so only their format is checked
    (reported as such in ``detail``).
    """
    backend = get_backend(backend) if isinstance(backend, str) else backend
    root = backend_dir(backend, models_dir)
    recorded = read_lock(root).get("files", {})
    results = []
    for status in file_statuses(backend, models_dir):
        results.append(_verify_one(status, recorded.get(status.file.local_path, {}), hashes))
    return results


def _verify_one(status: FileStatus, record: dict, hashes: bool) -> VerifyResult:
    f = status.file
    if not status.present:
        return VerifyResult(status, "missing", "required" if f.required else "optional")
    checked = []
    size = f.size if f.size is not None else record.get("size")
    if size is not None:
        if status.size != size:
            return VerifyResult(status, "size-mismatch", f"{status.size} bytes, expected {size}")
        checked.append("size")
    problem = format_problem(status.path)
    if problem:
        return VerifyResult(status, "corrupt", problem)
    checked.append("format")
    sha = f.sha256 or record.get("sha256")
    if sha and hashes:
        actual = sha256_file(status.path)
        if actual != sha:
            return VerifyResult(status, "hash-mismatch", f"sha256 {actual[:16]}..., expected {sha[:16]}...")
        checked.append("sha256")
    detail = "checked " + ", ".join(checked)
    if size is None and not sha:
        detail += " (no recorded size/hash: file was not fetched by `vortex models download`)"
    return VerifyResult(status, "ok", detail, tuple(checked))


def format_problem(path: Path) -> str | None:
    """Why ``path`` is not a well-formed file of its kind, or None if it is (or the kind has no check)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".safetensors":
            return _safetensors_problem(path)
        if suffix in (".pth", ".pt"):
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as archive:
                    if not any(name.endswith("data.pkl") for name in archive.namelist()):
                        return "zip archive without data.pkl: not a torch checkpoint"
                return None
            with open(path, "rb") as fh:
                # The legacy (pre-zip) torch format starts with a pickled magic number.
                return None if fh.read(1) == b"\x80" else "neither a torch zip archive nor a legacy torch pickle"
        if suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
            return None
    except (OSError, ValueError, zipfile.BadZipFile, struct.error) as exc:
        return f"unreadable: {type(exc).__name__}: {_first_line(exc)}"
    return None


def _safetensors_problem(path: Path) -> str | None:
    with open(path, "rb") as fh:
        (header_len,) = struct.unpack("<Q", fh.read(8))
        if header_len > 100_000_000:
            return f"header length {header_len} is implausible"
        header = json.loads(fh.read(header_len))
    end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    expected = 8 + header_len + end
    actual = path.stat().st_size
    if actual != expected:
        return f"{actual} bytes but its header describes {expected} (truncated or padded)"
    return None

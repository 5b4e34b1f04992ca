"""Vortex: a short script and an actor description in, a lip-synced talking-head slot out.

Data flows one way: recipe -> speech / actor -> motion -> animator -> media sinks.
Each stage lives in its own subpackage and exchanges frozen dataclasses of numpy arrays.
Importing this package loads no models.
"""

import os as _os

__version__ = "0.1.0"

# ONNX Runtime (1.2x on Linux) starts a telemetry client when it is imported, which writes a
# session file (".ses": a launch time and an id) into the temp directory on every run and may
# try to send events. Vortex promises that a run leaves nothing new in the temp directory and
# works offline, so it is switched off before any Vortex module can import onnxruntime (a user
# who sets the variable keeps their choice).
_os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

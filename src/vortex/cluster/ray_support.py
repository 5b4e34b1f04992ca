"""Ray as an optional dependency: import it with a one-line error, parse and join a cluster.

Why a module of its own: ``--executor ray`` and ``vortex workers`` must fail at once, before any
model loads, with one line naming the missing package, and every Ray entry point joins a cluster
the same way (namespace, quiet logs, ``auto`` or ``HOST:PORT``).
"""

from __future__ import annotations

import re
import signal
import socket
import threading

from vortex.errors import InvalidInputError, MissingResourceError

NAMESPACE = "vortex"
"""The Ray namespace the service's workers are named in (``vortex workers`` looks there)."""

RAY_PIN = "ray[default]==2.60.0"
INSTALL_HINT = "pip install 'vortex[ray]'"
_ADDRESS = re.compile(r"^(auto|\[?[A-Za-z0-9_.:-]+\]?:\d{1,5}|ray://\S+)$")


def require_ray():
    """The ``ray`` module, or MissingResourceError naming the package and how to install it."""
    try:
        import ray
    except ImportError:
        raise MissingResourceError(
            f"the 'ray' package is not installed (Vortex on Ray needs it): {INSTALL_HINT}") from None
    return ray


def check_address(address: str, flag: str = "--ray-address") -> str:
    """``auto`` (the cluster started on this machine by ``ray start``) or ``HOST:PORT``."""
    address = (address or "").strip()
    if not _ADDRESS.match(address) or (address != "auto" and not address.startswith("ray://")
                                       and not 0 < int(address.rsplit(":", 1)[1]) < 65536):
        raise InvalidInputError(f"{flag}: expected 'auto' or HOST:PORT of a Ray head node, got {address!r}")
    return address


PROBE_SECONDS = 5.0


def check_reachable(address: str) -> None:
    """A head node answers at ``address`` (``auto`` and ``ray://`` are left to Ray), else one line."""
    if address == "auto" or address.startswith("ray://"):
        return
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_SECONDS).close()
    except OSError as exc:
        raise MissingResourceError(f"no Ray cluster answers at {address} ({exc.strerror or exc}); start one with "
                                   f"'ray start --head' or pass --ray-address HOST:PORT of its head node") from None


def connect(address: str) -> bool:
    """Join the Ray cluster at ``address`` as a driver in the Vortex namespace.

    Returns True when this call connected (the caller then disconnects), False when this process
    was already connected. A cluster that is not there is a MissingResourceError saying how to
    start one, not Ray's traceback.
    """
    ray = require_ray()
    address = check_address(address)
    if ray.is_initialized():
        return False
    check_reachable(address)  # Ray itself would retry an unreachable head node for minutes
    on_main_thread = threading.current_thread() is threading.main_thread()
    sigterm = signal.getsignal(signal.SIGTERM) if on_main_thread else None
    try:
        # log_to_driver off: workers' logs stay in the cluster's log files instead of
        # interleaving with the service's own status lines.
        ray.init(address=address, namespace=NAMESPACE, logging_level="WARNING", log_to_driver=False,
                 configure_logging=True)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MissingResourceError(f"no Ray cluster at {address} ({first}); start one with 'ray start --head' "
                                   f"or pass --ray-address HOST:PORT of its head node") from None
    finally:
        if on_main_thread:  # ray.init replaces SIGTERM with sys.exit(15); the process keeps its own handling
            signal.signal(signal.SIGTERM, sigterm)
    return True

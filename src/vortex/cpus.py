"""How many CPUs this process may keep busy, for the stages that size their own thread pools.

``os.cpu_count()`` is the machine's cores, not this process's share of them. The share is the
smallest of three limits, any of which a deployment may set:

- the CPU affinity (``taskset``, a cpuset): ``os.sched_getaffinity``;
- a container's CPU quota (cgroup v2 ``cpu.max``, as Docker's ``--cpus`` and Kubernetes'
  CPU limits write it): a process over its quota is throttled, not given more cores;
- in a Ray worker, the CPUs Ray reserved for it (``num_cpus``). Ray pins nothing: a worker
  that reserved one CPU still sees every core of its node, so only Ray's own bookkeeping says
  it should use one. Ray is never imported here; a process that has not imported it is no
  Ray worker.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def affinity_cpus() -> int:
    """The CPUs the scheduler may run this process on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def quota_cpus(cpu_max: Path = CGROUP_CPU_MAX) -> int | None:
    """The cgroup v2 CPU quota rounded up to whole CPUs, or None where there is none."""
    try:
        quota, period = cpu_max.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return max(1, math.ceil(int(quota) / int(period)))
    except (ValueError, ZeroDivisionError):
        return None


def ray_cpus() -> int | None:
    """CPUs Ray reserved for this worker process (at least 1), or None outside a Ray worker."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return None
    try:
        context = ray.get_runtime_context()
        if context.worker.mode != ray.WORKER_MODE:  # a driver is bound by its machine, not by Ray
            return None
        reserved = context.get_assigned_resources().get("CPU")
    except Exception:  # noqa: BLE001 - Ray's internals vary by version; the other limits still hold
        return None
    # As Ray sizes OMP_NUM_THREADS: an actor that reserved no CPU, or a fraction, gets one thread.
    return max(1, math.floor(reserved)) if reserved is not None else 1


def usable_cpus() -> int:
    """The CPUs this process may keep busy: the smallest of its affinity, quota and Ray reservation."""
    limits = [affinity_cpus(), quota_cpus(), ray_cpus()]
    return max(1, min(n for n in limits if n is not None))


def opencv_single_threaded() -> None:
    """Turn OpenCV's own thread pool off, for the whole process (``cv2.setNumThreads(1)``).

    A slot runs its own parallel work (render workers, x264's threads, speech beside both), so
    OpenCV's pool adds no cores, only waste: between calls its threads spin-wait for the next
    one. A 512 px remap called every 2 ms took 1.59x the CPU of serial calls with the pool
    (1.11x with its spin-waits turned off); 45-s slots took 2-18 % more CPU-s with it, in six
    of six alternating pairs. OpenCV's results do not depend on its thread count: same bytes.
    """
    import cv2

    cv2.setNumThreads(1)

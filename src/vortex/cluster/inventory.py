"""The Vortex workers running in a Ray cluster, asked from any machine that can reach it.

``vortex workers`` uses this: every service names its workers in the ``vortex`` namespace, so
another process (an operator's shell) can find them by name and ask each for its state without
going through the service.
"""

from __future__ import annotations

from vortex.cluster.ray_support import NAMESPACE, connect, require_ray

ANSWER_SECONDS = 10.0
"""How long one worker may take to answer (``info`` runs beside a rendering slot)."""


def cluster_workers(address: str) -> list[dict]:
    """Each Vortex worker in the cluster at ``address``: name, node, pid, backends, device, current
    job and stage, slots done; ``state`` is ``busy``, ``idle`` or ``restarting`` (no answer)."""
    ray = require_ray()
    from vortex.cluster.worker import CONTROL_GROUP

    connected = connect(address)
    try:
        names = sorted(ray.util.list_named_actors(all_namespaces=False))
        refs = {}
        for name in names:
            try:
                actor = ray.get_actor(name, namespace=NAMESPACE)
                refs[name] = actor.info.options(concurrency_group=CONTROL_GROUP).remote()
            except ValueError:  # ended between the listing and the lookup
                continue
        rows = []
        for name, ref in refs.items():
            try:
                info = ray.get(ref, timeout=ANSWER_SECONDS)
                info["state"] = "busy" if info.get("job_id") else "idle"
            except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError) as exc:
                info = {"name": name, "state": "restarting" if isinstance(exc, ray.exceptions.ActorUnavailableError)
                        else "no answer"}
            rows.append(info)
        return rows
    finally:
        if connected:
            ray.shutdown()

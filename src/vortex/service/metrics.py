"""Prometheus text exposition for ``/metrics``: queue depth, slots by outcome, render seconds, RSS."""

from __future__ import annotations

import threading

RENDER_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class Metrics:
    """Counters of this process (they start at zero with it, as Prometheus counters do)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.outcomes: dict[str, int] = {"done": 0, "failed": 0, "cancelled": 0}
        self.buckets = [0] * len(RENDER_BUCKETS)
        self.render_count = 0
        self.render_sum = 0.0

    def finished(self, outcome: str, render_seconds: float | None) -> None:
        with self._lock:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
            if render_seconds is not None:
                self.render_count += 1
                self.render_sum += render_seconds
                for i, bound in enumerate(RENDER_BUCKETS):
                    if render_seconds <= bound:
                        self.buckets[i] += 1

    def text(self, queued: int, running: int, rss_bytes: int, workers: int) -> str:
        with self._lock:
            lines = [
                "# HELP vortex_queue_depth Slot jobs waiting for a worker.",
                "# TYPE vortex_queue_depth gauge",
                f"vortex_queue_depth {queued}",
                "# HELP vortex_slots_running Slot jobs rendering now.",
                "# TYPE vortex_slots_running gauge",
                f"vortex_slots_running {running}",
                "# HELP vortex_workers Workers that render slots.",
                "# TYPE vortex_workers gauge",
                f"vortex_workers {workers}",
                "# HELP vortex_slots_total Slot jobs finished by this process, by outcome.",
                "# TYPE vortex_slots_total counter",
            ]
            lines += [f'vortex_slots_total{{outcome="{k}"}} {v}' for k, v in sorted(self.outcomes.items())]
            lines += [
                "# HELP vortex_render_seconds Wall seconds from a job's start to its finished outputs.",
                "# TYPE vortex_render_seconds histogram",
            ]
            lines += [
                f'vortex_render_seconds_bucket{{le="{bound:g}"}} {n}' for bound, n in zip(RENDER_BUCKETS, self.buckets)
            ]
            lines += [
                f'vortex_render_seconds_bucket{{le="+Inf"}} {self.render_count}',
                f"vortex_render_seconds_sum {self.render_sum:.6f}",
                f"vortex_render_seconds_count {self.render_count}",
                "# HELP vortex_process_resident_memory_bytes Resident memory of the server process.",
                "# TYPE vortex_process_resident_memory_bytes gauge",
                f"vortex_process_resident_memory_bytes {rss_bytes}",
            ]
        return "\n".join(lines) + "\n"

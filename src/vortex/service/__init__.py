"""``vortex serve``: a resident service that takes slot recipes over HTTP, renders them on a queue
and broadcasts channels.

A thin layer over ``VortexPipeline``: it owns jobs (``store``: SQLite), files (``files``),
limits and auth; rendering happens behind an ``Executor`` (``executor``: in this process, or on
Ray workers), which returns bytes.
"""

"""Scale-out on Ray: the service's slots rendered by Ray actors on many machines.

Each worker is a Ray actor holding one resident ``VortexPipeline`` (``worker.SlotWorker``);
``executor.RayExecutor`` is the service's executor that dispatches slots to them, moves uploads
and results (MP4 bytes, report) through Ray's object store, re-runs a slot whose worker process
died on another worker, and lists the workers. ``ray_support`` imports Ray (an optional extra,
``pip install 'vortex[ray]'``) and connects to a cluster; nothing here imports Ray at module
level, so the embedded path never needs it.
"""

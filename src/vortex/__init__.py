"""Vortex: a short script and an actor description in, a lip-synced talking-head slot out.

Data flows one way: recipe -> speech / actor -> motion -> animator -> media sinks.
Each stage lives in its own subpackage and exchanges frozen dataclasses of numpy arrays.
Importing this package loads no models.
"""

__version__ = "0.1.0"

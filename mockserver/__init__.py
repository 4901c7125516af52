"""The local, offline mock Runware server (app factory, delivery modes, store, faults).

For now this package holds the ``runware-kit`` command line; the server arrives next.
"""

from ._cli import main

__all__ = ["main"]

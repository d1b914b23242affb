"""The garbage-collector policy of a short command-line run: paused while files go through the
stages. Only process entry points use it (``batchform.cli.main``, and the benchmark's timed
process, which measures what the CLI does); library functions (``batchform.build``,
``batchform.render``, ...) never change interpreter state, so a program that imports batchform
keeps its own collector settings and gets the same results.

Why pause at all: a large file builds hundreds of thousands of objects that all stay alive until
the command ends (YAML nodes, the positions table, models, plan contexts, rendered texts), and
every full collection re-scans all of them without finding garbage. With 5000 job definitions
half of the compile's CPU time went to the collector (benchmarks/README.md, "Optimisations made
with these numbers"). Reference counting still frees everything as usual while the collector is
paused; only cyclic garbage waits until it is back on.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the ``with`` block; nests, and leaves it off if
    the caller had turned it off.

    On the way out, whatever the block left alive is moved straight to the oldest generation:
    it was never scanned, so the first young-generation collection after the pause would
    otherwise walk all of it at once (0.4 s with 5000 job definitions) only to promote it. The
    oldest generation is still collected as usual, so cyclic garbage among it is not leaked.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:  # leave a caller's own gc.freeze() alone
                gc.freeze()  # every tracked object -> the permanent generation...
                gc.unfreeze()  # ...and back into the oldest one, without a scan
            gc.enable()

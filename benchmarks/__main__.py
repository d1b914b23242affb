"""``python -m benchmarks``: the same as ``make bench``."""

from __future__ import annotations

from benchmarks.bench import main

raise SystemExit(main())

"""Benchmarks of batchform: ``python -m benchmarks`` (``make bench``), described in
benchmarks/README.md. The benchmarks call the stages and the test harness; they copy neither.

- ``bench``: the command (options, the order of the parts, the README table).
- ``stages``: the compile benchmark, each stage timed in a fresh process.
- ``deploy``: an environment applied to moto with Terraform (``tests/harness/deploy.py``),
  optionally its job resources made through boto3 (``tests/harness/aws.py``) and imported.
- ``recording``: verify and ``terraform plan -refresh-only`` timed in rounds, and their API
  calls, throttled answers and sequential rounds recorded by ``latency_proxy``.
- ``results``: the results table (Markdown) and the machine it was measured on.
- ``genenv``: the synthetic environment files; ``latency_proxy``: the delaying proxy.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The repository: where the timed processes run (``python -m batchform`` needs it)."""

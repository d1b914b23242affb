"""Allow ``python -m batchform`` as an alias of the ``batchform`` console command."""

from batchform.cli import main

raise SystemExit(main())

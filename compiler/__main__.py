"""Allow ``python -m compiler`` as an alias of the ``batchform`` console command."""

from compiler.cli import main

raise SystemExit(main())

"""``batchform import``: an existing AWS Batch environment -> an environment file and the
Terraform ``import`` blocks that adopt it (docs/importing.md).

The stages, each in its own module:

- :mod:`batchform.importer.read` reads the account, read-only (the verifier's guarded clients
  and batched describe calls, :mod:`batchform.verify.clients` / :mod:`batchform.verify.fetch`)
  into a :class:`~batchform.importer.read.Snapshot`;
- :mod:`batchform.importer.mapping` and :mod:`batchform.importer.jobs` turn a snapshot into the
  file's keys (pure: unit-tested with plain dicts), recording every value the format cannot
  express as a :class:`~batchform.importer.result.LeftOut`;
- :mod:`batchform.importer.exactness` compiles the result and compares what batchform would
  deploy with what is deployed, so a difference the mapping missed is still listed;
- :mod:`batchform.importer.yamltext` writes the file with comments at the matching places;
- :mod:`batchform.importer.blocks` writes ``import`` blocks (and, for ``--from-terraform``,
  ``removed`` blocks), and finds the imports file ``compile`` places beside the module;
- :mod:`batchform.importer.command` runs it all for the CLI (exit codes, progress, writing).

Named ``importer`` because ``import`` is a Python keyword.
"""

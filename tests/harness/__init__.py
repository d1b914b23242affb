"""Test harness: real Terraform (offline, via a provider mirror) against an emulated AWS (moto).

What the tests (and ``benchmarks/``) add to ``batchform.sandbox``, which ``batchform sandbox``
uses too; import the emulator (``batchform.sandbox.emulator``: ``moto_server``, ``MotoServer``)
and the override file (``batchform.sandbox.override``: ``moto_copy``, ``MOTO_GAPS``) from there.

- ``terraform``: a session-wide CLI config + plugin cache, one function per subcommand.
- ``deploy``: an example with its stand-ins, compiled and applied to the emulator.
- ``aws``: resources created through boto3 the way the generated Terraform creates them.
- ``events``: Batch events and EventBridge's matching, for the alert tests.
- ``yaml_files``: environment-file YAML read the way batchform reads it.
"""

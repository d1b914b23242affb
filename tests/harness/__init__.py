"""Test harness: real Terraform (offline, via a provider mirror) against an emulated AWS (moto).

Thin test-facing wrappers around ``compiler.sandbox`` (which ``batchform sandbox`` uses too):

- ``terraform``: a session-wide CLI config + plugin cache, one function per subcommand.
- ``moto``: start/stop a ``moto_server`` process and build boto3 clients pointed at it.
- ``override``: copy a generated root module and inject moto endpoints with an override file.
- ``deploy``: an example with its stand-ins, compiled and applied to the emulator.
"""

"""Test harness: real Terraform (offline, via a provider mirror) against an emulated AWS (moto).

Modules:
- ``terraform``: locate the provider mirror, write a CLI config, run ``terraform`` subcommands.
- ``moto``: start/stop a ``moto_server`` process and build boto3 clients pointed at it.
- ``override``: copy a generated root module and inject moto endpoints with an override file.
"""

"""``batchform sandbox``: deploy an environment on an emulated AWS to prove it deploys.

Modules, reusable on their own (the test harness in ``tests/harness`` wraps them):

- ``emulator``: start/stop ``moto_server`` on a free 127.0.0.1 port, boto3 clients on it, the
  Batch service-linked role;
- ``terraform``: find a provider filesystem mirror, write a CLI config for it, run terraform
  subcommands in their own process group with readable errors;
- ``override``: copy a generated module and add ``zz_moto_override.tf`` (endpoints, local
  backend, service role, per-attribute moto-gap ``ignore_changes``);
- ``standins``: what the file assumes the account already has (existing VPC, AMI parameters);
- ``result``: steps, verdict and exit code (rendered by :mod:`batchform.report.sandbox`);
- ``command``: the steps of ``batchform sandbox``.

moto is an optional extra (``pip install 'batchform[sandbox]'``): nothing here imports it.
"""

"""The verify stage: compare a deployed AWS Batch environment with its file, read-only.

No Terraform state is needed: resources are found by the names and ``batchform:*`` tags the
compiler gives them (:mod:`batchform.naming`). Modules, in the order data flows:

- ``clients``: read-only boto3 clients (retries, timeouts) and the least-privilege IAM policy;
- ``desired``: the compiler's plan contexts, i.e. what the file asks for;
- ``fetch`` / ``gather``: every Describe/List/Get call, concurrently, into ``live.Live``;
- ``batch`` / ``infra``: the comparisons, one function per section of the file;
- ``engine``: ties them together and makes incompleteness explicit;
- ``result``: the report records and the exit code (rendered by :mod:`batchform.report.verify`);
- ``command``: what ``batchform verify`` does with its arguments.
"""

from batchform.verify.clients import Clients, iam_policy, make_clients
from batchform.verify.engine import verify
from batchform.verify.result import Report

__all__ = ["Clients", "Report", "iam_policy", "make_clients", "verify"]

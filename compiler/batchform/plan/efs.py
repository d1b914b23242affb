"""EFS plan: mount targets for the file systems jobs mount, in the VPC batchform creates.

One file, ``efs.tf``, written when ``network.efs`` lists file systems and the VPC is created
(check BF251 refuses ``network.efs`` with an existing VPC, BF250 an EFS volume whose file system
is not listed). A job's EFS volume is mounted over NFS (TCP 2049) by the instance or Fargate
task, in its own subnet, through the file system's mount target in that availability zone; a
file system without a mount target in the VPC cannot be mounted at all, and a mount target
whose security group does not admit 2049 from the compute instances times out
(https://docs.aws.amazon.com/efs/latest/ug/accessing-fs.html,
https://docs.aws.amazon.com/efs/latest/ug/network-access.html).

Addresses:

- ``aws_security_group.efs_mount_targets``: the mount targets' group (key
  ``efs-mount-targets``, reserved by BF258), with
  ``aws_vpc_security_group_ingress_rule.efs_mount_targets_nfs_<sg>``: NFS from each security
  group a compute environment uses, as the compute plan resolves them
  (:func:`compute_security_groups`);
- ``aws_vpc_security_group_egress_rule.<sg>_nfs_efs``: NFS to the mount targets, only for a
  compute security group whose egress is not ``all`` (otherwise it could not reach them);
- ``aws_efs_mount_target.<fs>_<az>``: one per file system and private subnet. One per AZ is
  all EFS allows (a second in the same AZ fails with ``MountTargetConflict``) and all it needs:
  every subnet of the AZ, public ones included, reaches it.
"""

from __future__ import annotations

import ipaddress

from batchform import derive, refs
from batchform.derive import MOUNT_TARGETS_SG_KEY
from batchform.model import Environment, SecurityGroupRule
from batchform.naming import aws_name, label
from batchform.plan import common
from batchform.plan.contract import EfsContext, MountTargetEntry, NfsRuleEntry, PlanFiles
from batchform.plan.network import parse_ports

NFS_PORT = 2049


def listed_file_systems(env: Environment) -> list[str]:
    """``network.efs`` in the user's order, each once."""
    return list(dict.fromkeys(env.network.efs))


def creates_mount_targets(env: Environment) -> bool:
    return env.network.vpc.create is not None and bool(env.network.efs)


def compute_security_groups(env: Environment) -> list[str]:
    """Every security group key a compute environment uses, sorted: the NFS sources."""
    keys = {sg for key in env.compute_environments for sg in env.ce_security_groups(key)}
    return sorted(keys)


def mount_target_label(file_system: str, az: str) -> str:
    return f"{label(file_system)}_{refs.az_label(az)}"


def _ingress(env: Environment, sg_key: str) -> NfsRuleEntry:
    return {
        "label": f"{label(MOUNT_TARGETS_SG_KEY)}_nfs_{label(sg_key)}",
        "security_group_id": refs.security_group_id(MOUNT_TARGETS_SG_KEY),
        "description": f"NFS from the compute security group {sg_key}",
        "from_port": NFS_PORT,
        "to_port": NFS_PORT,
        "peer": refs.security_group_id(sg_key),
        "tags": derive.tags(env, f"{MOUNT_TARGETS_SG_KEY}-nfs-{sg_key}"),
    }


def _egress(env: Environment, sg_key: str) -> NfsRuleEntry:
    return {
        "label": f"{label(sg_key)}_nfs_efs",
        "security_group_id": refs.security_group_id(sg_key),
        "description": "NFS to the EFS mount targets",
        "from_port": NFS_PORT,
        "to_port": NFS_PORT,
        "peer": refs.security_group_id(MOUNT_TARGETS_SG_KEY),
        "tags": derive.tags(env, f"{sg_key}-nfs-efs"),
    }


def _allows_nfs_out(env: Environment, r: SecurityGroupRule) -> bool:
    """Whether an egress rule lets TCP 2049 out to every address of the VPC."""
    create = env.network.vpc.create
    if r.cidr is None or create is None:
        return False
    peer, vpc = ipaddress.ip_network(r.cidr), ipaddress.ip_network(create.cidr)
    if not (isinstance(peer, ipaddress.IPv4Network) and isinstance(vpc, ipaddress.IPv4Network)):
        return False
    if not vpc.subnet_of(peer):
        return False
    if r.protocol == "all":
        return True
    ports = parse_ports(r.ports) if r.protocol == "tcp" else None
    return ports is not None and ports[0] <= NFS_PORT <= ports[1]


def _restricted_egress(env: Environment, sg_key: str) -> bool:
    """Whether a compute group's own egress rules would not let NFS out to the mount targets
    (``egress: none``, or a list without a rule covering TCP 2049 to the whole VPC)."""
    group = env.network.security_groups.get(sg_key)
    if group is None or group.egress == "all":
        return False
    if group.egress == "none":
        return True
    return not any(_allows_nfs_out(env, r) for r in group.egress)


def plan(env: Environment) -> PlanFiles:
    """``{"efs.tf": ...}`` when batchform creates mount targets, else nothing."""
    create = env.network.vpc.create
    if create is None or not env.network.efs:
        return {}
    sources = compute_security_groups(env)
    mount_targets: list[MountTargetEntry] = [
        {
            "label": mount_target_label(fs, az),
            "file_system_id": fs,
            "subnet_id": common.ref(refs.subnet_address("private", az), "id"),
            "security_groups": [refs.security_group_id(MOUNT_TARGETS_SG_KEY)],
        }
        for fs in listed_file_systems(env)
        for az in create.availability_zones
    ]
    context: EfsContext = {
        "security_groups": [
            {
                "label": label(MOUNT_TARGETS_SG_KEY),
                "name": aws_name(env.name, MOUNT_TARGETS_SG_KEY),
                "description": "batchform EFS mount targets: NFS from the compute environments",
                "vpc_id": refs.vpc_id(env),
                "tags": derive.tags(
                    env,
                    MOUNT_TARGETS_SG_KEY,
                    {"Name": aws_name(env.name, MOUNT_TARGETS_SG_KEY)},
                ),
            }
        ],
        "ingress_rules": [_ingress(env, sg) for sg in sources],
        "egress_rules": [_egress(env, sg) for sg in sources if _restricted_egress(env, sg)],
        "mount_targets": mount_targets,
    }
    return {"efs.tf": context}

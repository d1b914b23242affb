"""The Terraform arguments of each resource a template writes, from the plan contexts.

Most entries of a plan context are one resource's arguments already (a subnet, a job queue).
Some templates write more than the entry holds, or several resources from one entry, and the
provider decides a replacement on exactly those arguments:

- ``network.tf`` writes ``vpc_id = aws_vpc.main.id`` (``vpc_id_ref`` for endpoints) into the
  subnets, route tables, internet gateway and default security group, which their entries do
  not carry; a NAT gateway entry also writes its Elastic IP (``aws_eip``); the endpoint
  security group and its HTTPS rule are one entry;
- ``iam.tf`` writes a role entry as the role, its policy attachments, its inline policies and
  its instance profile, each a resource of its own (and each planned on its own);
- ``alerts.tf`` writes the topic's policy beside the topic, and an event target beside each
  alert rule, the subscriptions with the topic's ARN.

Each function here takes a file's context and returns ``{label: arguments}`` lists in the
shape the engine compares: a ``label`` and the arguments as the template writes them (a
reference as the :class:`~batchform.hcl.Expr` the template writes). The engine reads no
template: what a template writes besides its entry is stated here once, next to the template
it mirrors (``templates/<file>.j2``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batchform.hcl import Expr

Entry = dict[str, Any]

TOPIC_ARN = Expr("aws_sns_topic.alerts.arn")
"""What ``alerts.tf.j2`` writes as the topic policy's ``arn`` and each subscription's
``topic_arn``."""


def _vpc_id(context: Mapping[str, Any]) -> Any:
    return context.get("vpc_id_ref")


def _with_vpc(
    entry: Mapping[str, Any] | None, context: Mapping[str, Any], label: str
) -> list[Entry]:
    if entry is None:
        return []
    return [{"label": label, **entry, "vpc_id": _vpc_id(context)}]


def vpc(context: Mapping[str, Any]) -> list[Entry]:
    created = context.get("vpc")
    return [{"label": "main", **created}] if created is not None else []


def internet_gateway(context: Mapping[str, Any]) -> list[Entry]:
    return _with_vpc(context.get("internet_gateway"), context, "main")


def default_security_group(context: Mapping[str, Any]) -> list[Entry]:
    return _with_vpc(context.get("default_security_group"), context, "main")


def subnets(context: Mapping[str, Any]) -> list[Entry]:
    return [{**s, "vpc_id": _vpc_id(context)} for s in context.get("subnets") or []]


def route_tables(context: Mapping[str, Any]) -> list[Entry]:
    return [{**t, "vpc_id": _vpc_id(context)} for t in context.get("route_tables") or []]


def elastic_ips(context: Mapping[str, Any]) -> list[Entry]:
    """``aws_eip.<eip_label>``: ``domain = "vpc"`` and the NAT gateway's tags."""
    return [
        {"label": nat["eip_label"], "domain": "vpc", "tags": nat["tags"]}
        for nat in context.get("nat_gateways") or []
    ]


def nat_gateways(context: Mapping[str, Any]) -> list[Entry]:
    return [
        {k: v for k, v in nat.items() if k != "eip_label"}
        for nat in context.get("nat_gateways") or []
    ]


def routes(context: Mapping[str, Any]) -> list[Entry]:
    """``<target> = <target_id>``: a route to the internet gateway or to a NAT gateway."""
    return [
        {
            "label": r["label"],
            "route_table_id": r["route_table_id"],
            "destination_cidr_block": "0.0.0.0/0",
            r["target"]: r["target_id"],
        }
        for r in context.get("routes") or []
    ]


def endpoint_security_group(context: Mapping[str, Any]) -> list[Entry]:
    group = context.get("endpoint_security_group")
    if group is None:
        return []
    return [{k: v for k, v in group.items() if k != "ingress"}]


def endpoint_ingress_rules(context: Mapping[str, Any]) -> list[Entry]:
    """The HTTPS rule of the endpoint group; with an existing VPC, also the ``for_each`` block
    over its secondary CIDR blocks (one resource block: its instances are known only to a
    plan that reads the VPC)."""
    group = context.get("endpoint_security_group")
    if group is None:
        return []
    ingress = group["ingress"]
    rules: list[Entry] = [
        {
            **{k: v for k, v in ingress.items() if k != "cidr_ipv4"},
            "peer": {"cidr_ipv4": ingress["cidr_ipv4"]},
        }
    ]
    lookup = context.get("existing_vpc_lookup")
    if lookup is not None:
        secondary = lookup["secondary"]
        rules.append(
            {
                "label": secondary["label"],
                "for_each": secondary["cidrs"],
                "security_group_id": ingress["security_group_id"],
                "description": secondary["description"],
                "ip_protocol": ingress["ip_protocol"],
                "from_port": ingress["from_port"],
                "to_port": ingress["to_port"],
                "peer": {"cidr_ipv4": Expr("each.value")},
                "tags": secondary["tags"],
            }
        )
    return rules


def endpoints(context: Mapping[str, Any]) -> list[Entry]:
    return [{**e, "vpc_id": _vpc_id(context)} for e in context.get("endpoints") or []]


def nfs_rules(rules: list[Mapping[str, Any]]) -> list[Entry]:
    """``efs.tf`` rules: TCP from the peer group (``referenced_security_group_id``)."""
    return [
        {
            **{k: v for k, v in r.items() if k != "peer"},
            "ip_protocol": "tcp",
            "peer": {"referenced_security_group_id": r["peer"]},
        }
        for r in rules
    ]


def efs_ingress_rules(context: Mapping[str, Any]) -> list[Entry]:
    return nfs_rules(context.get("ingress_rules") or [])


def efs_egress_rules(context: Mapping[str, Any]) -> list[Entry]:
    return nfs_rules(context.get("egress_rules") or [])


ROLE_PARTS = (
    "managed_policy_arn",
    "managed_policy_attachments",
    "inline_policies",
    "role_name_ref",
    "instance_profile",
)
"""Keys of a role entry ``iam.tf.j2`` writes as other resources (or only references)."""


def roles(context: Mapping[str, Any]) -> list[Entry]:
    return [
        {k: v for k, v in role.items() if k not in ROLE_PARTS}
        for role in context.get("roles") or []
    ]


def policy_attachments(context: Mapping[str, Any]) -> list[Entry]:
    """The service's managed policy (labelled like the role) and the attachments the file
    lists; ``role`` is the role's name (``aws_iam_role.<label>.name``); each is replaced with
    its role (``replace_triggered_by``, see ``RoleEntry.policies_replaced_with``)."""
    found: list[Entry] = []
    for role in context.get("roles") or []:
        if role.get("managed_policy_arn"):
            found.append(
                {
                    "label": role["label"],
                    "role": role["role_name_ref"],
                    "policy_arn": role["managed_policy_arn"],
                    "replace_triggered_by": role["policies_replaced_with"],
                }
            )
        for attachment in role.get("managed_policy_attachments") or []:
            found.append(
                {
                    "label": attachment["label"],
                    "role": role["role_name_ref"],
                    "policy_arn": attachment["policy_arn"],
                    "replace_triggered_by": role["policies_replaced_with"],
                }
            )
    return found


def inline_policies(context: Mapping[str, Any]) -> list[Entry]:
    return [
        {
            "label": policy["label"],
            "name": policy["name"],
            "role": role["role_name_ref"],
            "policy": policy["policy"],
            "replace_triggered_by": role["policies_replaced_with"],
        }
        for role in context.get("roles") or []
        for policy in role.get("inline_policies") or []
    ]


def instance_profiles(context: Mapping[str, Any]) -> list[Entry]:
    return [
        dict(role["instance_profile"])
        for role in context.get("roles") or []
        if role.get("instance_profile")
    ]


def topic(context: Mapping[str, Any]) -> list[Entry]:
    created = context.get("topic")
    if created is None:
        return []
    return [{"label": "alerts", "name": created["name"], "tags": created["tags"]}]


def topic_policy(context: Mapping[str, Any]) -> list[Entry]:
    created = context.get("topic")
    if created is None:
        return []
    return [{"label": "alerts", "arn": TOPIC_ARN, "policy": created["policy"]}]


def subscriptions(context: Mapping[str, Any]) -> list[Entry]:
    return [
        {
            "label": s["label"],
            "topic_arn": TOPIC_ARN,
            "protocol": "email",
            "endpoint": s["endpoint"],
        }
        for s in context.get("subscriptions") or []
    ]


def event_rules(context: Mapping[str, Any]) -> list[Entry]:
    return [
        {
            "label": r["label"],
            "name": r["name"],
            "description": r["description"],
            "event_pattern": r["event_pattern"],
            "tags": r["tags"],
        }
        for r in context.get("rules") or []
    ]


def event_targets(context: Mapping[str, Any]) -> list[Entry]:
    return [
        {
            "label": r["label"],
            "rule": r["rule_name"],
            "target_id": "sns",
            "arn": r["topic_arn"],
            "input_transformer": {
                "input_paths": r["input_paths"],
                "input_template": r["input_template"],
            },
        }
        for r in context.get("rules") or []
    ]

"""What a round trip through ``batchform import`` loses: an example as applied, against the
file ``batchform import`` writes back from the deployment.

Both files are read with batchform's own loader and model, then reduced to what they *mean*
(:func:`meaning`): every job definition with ``job_defaults`` merged in, the effective AWS name
of every resource instead of how it is spelt (``aws_name``, ``aws_name_prefix`` or the
default ``<name>-<key>``), the tags each resource ends up with (the file's tags under its
own), the subnets and security groups a compute environment really uses, sizes in the model's
units. Resources are matched by their AWS name, not by their key, so an import that chose
another key still lines up with the original.

:func:`differences` lists what still differs as ``(path, original, imported)``;
:func:`explain` says why each is lost (:data:`KINDS`), and :func:`golden_text` writes the
list a person reads (``tests/import_roundtrip/<example>.lost``). A difference no kind
explains is an importer defect to fix, and the round-trip test fails on it.

Ids the deployment made up (the VPC, subnets and security groups batchform created, the
stand-ins the sandbox made for what the file assumes exists) are written as the names they
stand for (:class:`Ids`), and the unique suffix Terraform appends to a name prefix as
``<suffix>``, so the golden files do not change from one run to the next.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from batchform import naming
from batchform.derive import compute_resource_tags, default_image_type
from batchform.model import Environment
from batchform.sandbox.override import verify_gaps
from batchform.verify.batch import prune

ABSENT = "(none)"
TERRAFORM_SUFFIX = re.compile(r"-\d{18}[0-9a-f]{8}\b")
"""The unique suffix Terraform appends to a ``name_prefix`` (18 digits of time, 8 hex digits
of a counter: compiler/batchform/importer/mapping.py)."""

Flat = dict[str, Any]


@dataclass(frozen=True)
class Ids:
    """Ids in either file and the stable names they are written as: the id of a resource
    batchform made by its ``batchform:key`` tag (``<id of subnet private-us-east-1a>``, where
    the original says ``<subnet private-us-east-1a>``: batchform makes it), a launch template
    without one by its name, a stand-in by the id the example wrote (the sandbox substituted
    it, compiler/batchform/sandbox/standins.py)."""

    names: Mapping[str, str] = field(default_factory=dict)

    def text(self, value: str) -> str:
        out = TERRAFORM_SUFFIX.sub("-<suffix>", value)
        return self.names.get(out, out)

    def apply(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.apply(v) for v in value]
        if isinstance(value, dict):
            return {self.text(str(k)): self.apply(v) for k, v in value.items()}
        return value


# --- what a file means -------------------------------------------------------------------------


def _dump(model: Any, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """The model's values, without what is unset (``None``, ``[]``, ``{}``): an unset key and
    an empty one mean the same, and the lines stay short."""
    dumped: dict[str, Any] = prune(model.model_dump(mode="json", exclude=set(exclude)))
    return dumped


def _ce_name(env: Environment, key: str) -> str:
    """The AWS name of a compute environment: exact, or its Terraform prefix plus the suffix."""
    exact = naming.compute_environment_name(env, key)
    if exact is not None:
        return TERRAFORM_SUFFIX.sub("-<suffix>", exact)
    return f"{naming.compute_environment_prefix(env, key)}<suffix>"


def aws_names(env: Environment) -> dict[tuple[str, str], str]:
    """``{(section, AWS name): key}`` of every named resource."""
    out: dict[tuple[str, str], str] = {}
    for key in env.compute_environments:
        out[("compute_environments", _ce_name(env, key))] = key
    for section in ("job_queues", "scheduling_policies", "job_definitions"):
        for key in getattr(env, section):
            out[(section, naming.resource_name(env, section, key))] = key
    return out


def _subnets(env: Environment, key: str) -> list[str]:
    """The subnets a compute environment runs in: ids, or batchform's own subnets by the
    ``batchform:key`` they are tagged with (compiler/batchform/plan/network.py)."""
    ce = env.compute_environments[key]
    if isinstance(ce.subnets, list):
        return sorted(ce.subnets)
    existing, create = env.network.vpc.existing, env.network.vpc.create
    if existing is not None:
        return sorted(
            existing.private_subnets if ce.subnets == "private" else existing.public_subnets
        )
    assert create is not None
    zones = ce.availability_zones or create.availability_zones
    return sorted(f"<subnet {ce.subnets}-{zone}>" for zone in zones)


def _security_groups(env: Environment, key: str) -> list[str]:
    """Ids of existing groups, and the groups batchform makes by their key."""
    return sorted(
        g if g.startswith("sg-") else f"<security group {g}>" for g in env.ce_security_groups(key)
    )


def _launch_template(env: Environment, key: str) -> dict[str, str] | None:
    """The template a compute environment launches: one batchform makes (by its key, always
    its latest version), or an existing one by id or by name (as :meth:`Ids.text` names it)."""
    ce = env.compute_environments[key]
    if ce.launch_template_key is not None:
        return {"template": f"<launch template {ce.launch_template_key}>", "version": "$Latest"}
    existing = ce.existing_launch_template
    if existing is None:
        return None
    template = existing.id or f"<launch template {existing.name}>"
    return {"template": template, "version": str(existing.version)}


def _ami(env: Environment, key: str) -> dict[str, Any] | None:
    """The image an EC2 or SPOT compute environment boots: its ``ami``, or the image type
    batchform chooses for its instance types (compiler/batchform/derive.py)."""
    ce = env.compute_environments[key]
    if ce.ami is not None:
        return _dump(env.amis[ce.ami])
    if ce.is_fargate or ce.is_unmanaged:
        return None
    return {"image_type": default_image_type(ce)}


def _compute_environment(env: Environment, key: str) -> dict[str, Any]:
    ce = env.compute_environments[key]
    out = _dump(
        ce,
        ("aws_name", "aws_name_prefix", "tags", "instance_tags", "subnets", "security_groups"),
    )
    out["name"] = _ce_name(env, key)
    out["name_form"] = "exact" if ce.aws_name is not None else "prefix"
    out["tags"] = {**env.tags, **ce.tags}
    if not ce.is_fargate:
        out["instance_tags"] = compute_resource_tags(env, key)
        out["instance_types"] = sorted(ce.instance_types or ["optimal"])  # a set in the API
    out["subnets"] = _subnets(env, key)
    out["security_groups"] = _security_groups(env, key)
    out["launch_template"] = _launch_template(env, key)
    out["ami"] = _ami(env, key)
    out["availability_zones"] = None  # already in the subnets it selects
    return out


def _job(env: Environment, key: str) -> dict[str, Any]:
    job = env.job(key)
    out = _dump(job, ("aws_name", "aws_name_prefix"))
    out["name"] = naming.resource_name(env, "job_definitions", key)
    out["tags"] = {**env.tags, **(job.tags or {})}
    if job.platform == "FARGATE":
        # what Fargate does when the job definition says nothing (ContainerProperties in the
        # AWS Batch API reference): platform version LATEST, no public IP
        out.setdefault("platform_version", "LATEST")
        out.setdefault("assign_public_ip", False)
    out["volumes"] = sorted(
        (_volume(v) for v in out.get("volumes", [])), key=lambda v: str(v["container_path"])
    )
    for device in out.get("devices", []):
        device.setdefault("container_path", device["host_path"])  # the model's default
    return out


def _volume(volume: dict[str, Any]) -> dict[str, Any]:
    """An EFS volume's transit encryption as it is deployed: unset means on exactly when an
    access point or IAM authorization is used (compiler/batchform/model.py, ``Volume``)."""
    if "efs" in volume and "transit_encryption" not in volume:
        on = bool(volume.get("access_point") or volume.get("iam"))
        return {**volume, "transit_encryption": on}
    return volume


def _named(env: Environment, section: str, key: str) -> dict[str, Any]:
    entry = getattr(env, section)[key]
    out = _dump(entry, ("aws_name", "aws_name_prefix", "tags"))
    out["name"] = naming.resource_name(env, section, key)  # type: ignore[arg-type]
    out["tags"] = {**env.tags, **entry.tags}
    return out


def meaning(env: Environment, keys: Mapping[tuple[str, str], str] | None = None) -> Flat:
    """``env`` as ``{path: value}``, a path per setting of every resource (deeper values are
    compared whole). ``keys`` renames this file's resources to the original's keys, matched by
    AWS name (:func:`aws_names`), references between them included."""
    rename = _renamer(env, keys or {})
    data: dict[str, Any] = {
        "region": env.region,
        "terraform": _dump(env.terraform),
        "ignore": sorted(env.ignore),
        "network": _dump(env.network),
        "iam": _dump(env.iam),
        "launch_templates": _dump_all(env.launch_templates),
        "schedules": _dump_all(env.schedules),
        "alerts": _dump(env.alerts) if env.alerts is not None else None,
    }
    for key in env.compute_environments:
        data[f"compute_environments.{rename('compute_environments', key)}"] = _compute_environment(
            env, key
        )
    for key in env.scheduling_policies:
        data[f"scheduling_policies.{rename('scheduling_policies', key)}"] = _named(
            env, "scheduling_policies", key
        )
    for key, queue in env.job_queues.items():
        entry = _named(env, "job_queues", key)
        entry["compute_environments"] = [
            rename("compute_environments", k) for k in queue.compute_environments
        ]
        if queue.scheduling_policy is not None:
            entry["scheduling_policy"] = rename("scheduling_policies", queue.scheduling_policy)
        data[f"job_queues.{rename('job_queues', key)}"] = entry
    for key in env.job_definitions:
        data[f"job_definitions.{rename('job_definitions', key)}"] = _job(env, key)
    flat: Flat = {}
    for path, value in data.items():
        if isinstance(value, dict) and "." not in path and path != "alerts":
            flat.update({f"{path}.{name}": inner for name, inner in value.items()})
        else:
            flat[path] = value
    return flat


def _dump_all(entries: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _dump(entry) for key, entry in entries.items()}


def _renamer(env: Environment, keys: Mapping[tuple[str, str], str]) -> Any:
    by_key = {(section, key): name for (section, name), key in aws_names(env).items()}

    def rename(section: str, key: str) -> str:
        return keys.get((section, by_key.get((section, key), "")), key)

    return rename


# --- the differences ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    path: str
    original: Any
    imported: Any
    kind: str = ""

    def line(self) -> str:
        return f"{self.path}: {_show(self.original)} -> {_show(self.imported)}"


def _show(value: Any) -> str:
    if value is None:
        return ABSENT
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


def _empty(value: Any) -> bool:
    return value is None or value == {} or value == []


def differences(original: Environment, imported: Environment, ids: Ids) -> list[Difference]:
    """What the imported file says differently from the original, path by path."""
    keys = aws_names(original)
    mine = {k: _sets(k, ids.apply(v)) for k, v in meaning(original).items()}
    theirs = {
        k: _sets(k, ids.apply(v)) for k, v in meaning(imported, _by_name(imported, keys)).items()
    }
    out = []
    for path in sorted(set(mine) | set(theirs)):
        was, now = mine.get(path), theirs.get(path)
        resource = path.count(".") == 1 and path.split(".")[0] in RESOURCE_SECTIONS
        if resource and isinstance(was, dict) and isinstance(now, dict):
            out += _fields(path, was, now)
            continue
        if was != now and not (_empty(was) and _empty(now)):
            out.append(Difference(path, was, now))
    return out


RESOURCE_SECTIONS = (
    "compute_environments",
    "scheduling_policies",
    "job_queues",
    "job_definitions",
)


SET_VALUED = ("subnets", "security_groups", "private_subnets", "public_subnets")
"""Lists whose order means nothing (the API and the provider hold them as sets), sorted
after their ids are named, so a golden file does not depend on the ids moto chose."""


def _sets(path: str, value: Any) -> Any:
    if isinstance(value, dict):
        # a created VPC's subnet CIDRs are in the order of its zones: not a set
        return {k: v if k == "create" else _sets(k, v) for k, v in value.items()}
    if isinstance(value, list) and path.rsplit(".", 1)[-1] in SET_VALUED:
        return sorted(value, key=str)
    return value


def _fields(path: str, was: dict[str, Any], now: dict[str, Any]) -> list[Difference]:
    """A resource both files have, setting by setting."""
    out = []
    for name in sorted(set(was) | set(now)):
        a, b = was.get(name), now.get(name)
        if a != b and not (_empty(a) and _empty(b)):
            out.append(Difference(f"{path}.{name}", a, b))
    return out


def _by_name(
    imported: Environment, keys: Mapping[tuple[str, str], str]
) -> dict[tuple[str, str], str]:
    """The imported file's resources, by AWS name, to the original's key of that name."""
    return {name: keys[name] for name in aws_names(imported) if name in keys}


# --- why each is lost ----------------------------------------------------------------------------

KINDS: tuple[tuple[str, str], ...] = (
    ("made", "made by batchform, adopted as the existing id or ARN it now is"),
    ("resolved", "resolved when applied: the value it stood for is what the account holds"),
    ("subnets", "an existing VPC's subnets: import lists those the compute environments use"),
    ("not read", "not a Batch setting in the account: import does not read it"),
    ("not imported", "a kind of resource import leaves outside batchform (listed as left out)"),
    ("revisions", "keep_old_revisions: true, written on purpose"),
    ("moto", "moto gap: moto does not store it, so import cannot read it (docs/importing.md)"),
)
"""The kinds of loss, in the order the golden files list them; docs/importing.md ("Round trip
of the bundled examples") says why each is lost."""

RULES: tuple[tuple[str, str], ...] = (
    ("network.security_groups", "made"),
    ("network.endpoints", "not read"),
    ("network.efs", "not read"),
    ("iam.*", "made"),
    ("compute_environments.*.security_groups", "made"),
    ("compute_environments.*.subnets", "made"),
    ("compute_environments.*.launch_template", "made"),
    ("job_definitions.*.job_role", "made"),
    ("job_definitions.*.keep_old_revisions", "revisions"),
    ("launch_templates.*", "made"),
    ("terraform.*", "not read"),
    ("ignore", "not read"),
    ("alerts", "not read"),
)
"""Path patterns (fnmatch) and the kind of loss at them; :func:`_kind` decides the rest."""

MOTO_FIELDS = {
    "eksConfiguration": "eks",
    "updatePolicy": "update_policy",
    "jobStateTimeLimitActions": "time_limit_actions",
    "schedulingPriority": "scheduling_priority",
}
"""verify's attribute names of the moto gaps (compiler/batchform/sandbox/override.py,
``verify_gaps``) -> the file's key."""


def moto_paths(env: Environment) -> set[str]:
    """The paths where moto, and only moto, loses what ``env`` sets."""
    out = set()
    for resource, attribute in verify_gaps(env):
        name = MOTO_FIELDS.get(attribute.split(".", 1)[0])
        if name is not None:
            out.add(f"{resource}.{name}")
    return out


def _not_importable(section: str, value: Any) -> bool:
    """A resource import leaves out by design (docs/importing.md, "What is not imported"):
    UNMANAGED or EKS compute environments, multi-node, multi-container and EKS job
    definitions, and the queues of compute environments that are not imported."""
    if not isinstance(value, dict):
        return False
    if section == "compute_environments":
        return value.get("type") == "UNMANAGED" or "eks" in value
    if section == "job_definitions":
        return (
            value.get("platform") == "EKS"
            or value.get("type") == "multinode"
            or "containers" in value
        )
    return section == "job_queues"


def _kind(d: Difference, original: Environment, moto: set[str]) -> str:
    parts = d.path.split(".")
    if d.path in moto:
        return "moto"
    if d.path == "network.vpc":
        return "made" if original.network.vpc.create is not None else "subnets"
    if len(parts) == 2 and parts[0] in RESOURCE_SECTIONS and d.imported is None:
        return "not imported" if _not_importable(parts[0], d.original) else ""
    if parts[0] == "compute_environments" and parts[-1] == "ami":
        return "resolved" if "ssm_parameter" in (d.original or {}) else ""
    if parts[0] == "job_definitions" and parts[-1] == "architecture":
        # on EC2 the instance types decide it: only a Fargate job sends it (runtimePlatform)
        return "not read" if original.job(parts[1]).platform != "FARGATE" else ""
    return next((k for pattern, k in RULES if fnmatch.fnmatchcase(d.path, pattern)), "")


def explain(found: list[Difference], original: Environment) -> list[Difference]:
    """Each difference with its kind ("" when nothing explains it: an importer defect)."""
    moto = moto_paths(original)
    return [Difference(d.path, d.original, d.imported, _kind(d, original, moto)) for d in found]


def golden_text(example: str, found: list[Difference], not_deployed: list[str]) -> str:
    """The ``.lost`` file: a header, then one difference per line under its kind."""
    lines = [
        f"# What a round trip of configs/{example}.yaml through `batchform import` loses "
        "(tests/test_verify_e2e.py; path: original -> imported).",
    ]
    if not_deployed:
        lines.append(
            f"not deployed (moto refuses them, docs/sandbox.md): {', '.join(not_deployed)}"
        )
    order = [k for k, _ in KINDS] + [""]
    for kind in order:
        mine = [d for d in found if d.kind == kind]
        if not mine:
            continue
        title = dict(KINDS).get(kind, "UNEXPLAINED: an importer defect to fix")
        lines.append(f"[{kind or 'unexplained'}] {title}")
        lines += [f"  {d.line()}" for d in mine]
    if len(lines) == 1 + bool(not_deployed):
        lines.append("nothing is lost")
    return "\n".join(lines) + "\n"


def deployed_ids(ec2: Any, env_name: str, replacements: Mapping[str, str]) -> Ids:
    """:class:`Ids` of a deployment read through ``ec2``: the stand-ins back to the ids the file
    wrote, batchform's own VPC, subnets, security groups and launch templates by their
    ``batchform:key`` tag, other launch templates by name."""
    names = {new: old for old, new in replacements.items()}
    kinds = (
        ("describe_vpcs", "Vpcs", "VpcId", "vpc"),
        ("describe_subnets", "Subnets", "SubnetId", "subnet"),
        ("describe_security_groups", "SecurityGroups", "GroupId", "security group"),
        ("describe_launch_templates", "LaunchTemplates", "LaunchTemplateId", "launch template"),
    )
    for call, items, id_key, kind in kinds:
        for item in getattr(ec2, call)()[items]:
            tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
            resource = str(item[id_key])
            if resource in names:
                continue
            if tags.get(naming.TAG_ENVIRONMENT) == env_name and naming.TAG_KEY in tags:
                names[resource] = f"<id of {kind} {tags[naming.TAG_KEY]}>"
            elif kind == "launch template":
                names[resource] = f"<{kind} {item['LaunchTemplateName']}>"
    return Ids(names)


__all__ = [
    "KINDS",
    "Difference",
    "Ids",
    "aws_names",
    "deployed_ids",
    "differences",
    "explain",
    "golden_text",
    "meaning",
]

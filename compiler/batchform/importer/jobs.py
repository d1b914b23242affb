"""Deployed job definitions (their latest ACTIVE revision) -> ``job_definitions`` and
``job_defaults``.

The shapes read are those of the API reference: ``JobDefinition``, ``ContainerProperties``,
``RetryStrategy`` (https://docs.aws.amazon.com/batch/latest/APIReference/API_JobDefinition.html,
https://docs.aws.amazon.com/batch/latest/APIReference/API_ContainerProperties.html). What the
format cannot express is found by :mod:`batchform.importer.exactness`, which compares the
container properties batchform would register with the deployed ones, so nothing here has to
list every field AWS may add.
"""

from __future__ import annotations

from typing import Any

from batchform import naming
from batchform.importer.mapping import adopted_entry
from batchform.importer.result import Adopted, Adoption
from batchform.model import JOB_SETTING_DEFAULTS
from batchform.units import format_duration

LOG_RETENTION_DEFAULT = int(JOB_SETTING_DEFAULTS["log_retention_days"])

SHARED_SETTINGS = (
    "platform",
    "platform_version",
    "assign_public_ip",
    "privileged",
    "propagate_tags",
    "timeout",
    "retry",
)
"""Settings ``job_defaults`` may hold (``JobSettings`` in compiler/batchform/model.py) that
are moved there when every job definition has the same value."""


KEEP_OLD_REVISIONS = (
    "Every job definition has `keep_old_revisions: true`, as the account behaves today: AWS",
    "keeps every revision ACTIVE until someone deregisters it. It also keeps the first apply",
    "from registering a new revision of each job definition: hashicorp/aws 5.x imports one",
    "without `deregister_on_new_revision`, and any value there but false is a change that",
    "registers a revision (internal/service/batch/job_definition.go, Update). Remove it after",
    "the first apply to have an update deregister the revision it replaces; that apply then",
    "registers one new revision of each job definition.",
)
"""Why an imported job definition keeps its old revisions: said once, in the file's header."""


def memory_text(mib: int) -> str | int:
    """``4 GiB`` when whole GiB, else ``512 MiB``."""
    if mib and mib % 1024 == 0:
        return f"{mib // 1024} GiB"
    return f"{mib} MiB"


def disk_text(gib: int) -> str:
    if gib and gib % 1024 == 0:
        return f"{gib // 1024} TiB"
    return f"{gib} GiB"


def _number(text: Any) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def _resources(props: dict[str, Any]) -> dict[str, Any]:
    """vCPUs, memory and GPUs from ``resourceRequirements`` (or the deprecated top-level
    ``vcpus``/``memory`` of old registrations)."""
    found = {r.get("type"): r.get("value") for r in props.get("resourceRequirements", []) or []}
    out: dict[str, Any] = {}
    vcpus = found.get("VCPU", props.get("vcpus"))
    memory = found.get("MEMORY", props.get("memory"))
    out["vcpus"] = _number(vcpus) if vcpus is not None else 1
    out["memory"] = memory_text(int(float(memory))) if memory is not None else 2048
    if found.get("GPU") is not None and int(float(found["GPU"])) > 0:
        out["gpus"] = int(float(found["GPU"]))
    return out


def _volumes(props: dict[str, Any]) -> list[dict[str, Any]]:
    """``volumes`` entries: one per mount point, in the mount points' order (batchform names
    volumes by position and mounts each once)."""
    by_name = {str(v.get("name")): v for v in props.get("volumes", []) or []}
    out: list[dict[str, Any]] = []
    for mount in props.get("mountPoints", []) or []:
        volume = by_name.get(str(mount.get("sourceVolume")))
        if volume is None:
            continue
        entry: dict[str, Any] = {}
        efs = volume.get("efsVolumeConfiguration")
        if efs:
            entry["efs"] = str(efs.get("fileSystemId"))
        else:
            entry["host_path"] = str((volume.get("host") or {}).get("sourcePath", ""))
        entry["container_path"] = str(mount.get("containerPath", ""))
        if mount.get("readOnly"):
            entry["read_only"] = True
        if efs:
            if efs.get("rootDirectory"):
                entry["root_directory"] = str(efs["rootDirectory"])
            auth = efs.get("authorizationConfig") or {}
            if auth.get("accessPointId"):
                entry["access_point"] = str(auth["accessPointId"])
            if auth.get("iam") == "ENABLED":
                entry["iam"] = True
            if efs.get("transitEncryption"):
                entry["transit_encryption"] = efs["transitEncryption"] == "ENABLED"
        out.append(entry)
    return out


def _retry(strategy: dict[str, Any] | None) -> dict[str, Any] | None:
    if not strategy:
        return None
    out: dict[str, Any] = {"attempts": int(strategy.get("attempts", 1))}
    rules = []
    for rule in strategy.get("evaluateOnExit", []) or []:
        entry: dict[str, Any] = {"action": str(rule.get("action", "EXIT")).upper()}
        for api, key in (
            ("onExitCode", "exit_code"),
            ("onReason", "reason"),
            ("onStatusReason", "status_reason"),
        ):
            if rule.get(api) is not None:
                entry[key] = str(rule[api])
        rules.append(entry)
    if rules:
        out["on_exit"] = rules
    return out


def _container_extras(props: dict[str, Any], entry: dict[str, Any]) -> None:
    """Container options of the format's second release (docs/environment.md): written with
    their key names; a model that does not have a key yet drops it again as "left out"
    (:func:`batchform.importer.exactness.fit_to_model`)."""
    if props.get("user"):
        entry["user"] = str(props["user"])
    if props.get("readonlyRootFilesystem"):
        entry["readonly_root_filesystem"] = True
    linux = props.get("linuxParameters") or {}
    if linux.get("initProcessEnabled"):
        entry["init_process"] = True
    if linux.get("sharedMemorySize"):
        entry["shared_memory"] = memory_text(int(linux["sharedMemorySize"]))
    tmpfs = [
        {"container_path": str(t["containerPath"]), "size": memory_text(int(t["size"]))}
        | ({"mount_options": [str(o) for o in t["mountOptions"]]} if t.get("mountOptions") else {})
        for t in linux.get("tmpfs", []) or []
    ]
    if tmpfs:
        entry["tmpfs"] = tmpfs
    devices = [
        {
            "host_path": str(d["hostPath"]),
            "container_path": str(d.get("containerPath") or d["hostPath"]),
        }
        | (
            {"permissions": [str(p).lower() for p in d["permissions"]]}
            if d.get("permissions")
            else {}
        )
        for d in linux.get("devices", []) or []
    ]
    if devices:
        entry["devices"] = devices
    if linux.get("maxSwap") is not None:
        swap: dict[str, Any] = {"max": memory_text(int(linux["maxSwap"]))}
        if linux.get("swappiness") is not None:
            swap["swappiness"] = int(linux["swappiness"])
        entry["swap"] = swap
    ulimits = {
        str(u["name"]): {"soft": int(u["softLimit"]), "hard": int(u["hardLimit"])}
        for u in props.get("ulimits", []) or []
        if "name" in u
    }
    if ulimits:
        entry["ulimits"] = ulimits
    if props.get("enableExecuteCommand"):
        entry["execute_command"] = True
    arch = (props.get("runtimePlatform") or {}).get("cpuArchitecture")
    if arch:
        entry["architecture"] = str(arch)
    log = _log(props.get("logConfiguration"))
    if log is not None:
        entry["log"] = log


def _batchform_log(adoption: Adoption, key: str) -> dict[str, Any]:
    """The ``log`` batchform's default amounts to: awslogs into ``/aws/batch/<name>/<key>``
    (compiler/batchform/derive.py, ``container_properties``)."""
    document = adoption.document
    options = {
        "awslogs-group": naming.log_group_name(str(document.get("name")), key),
        "awslogs-region": str(document.get("region")),
        "awslogs-stream-prefix": key,
    }
    return {"driver": "awslogs", "options": options}


def _own_log(log: dict[str, Any] | None, generated: dict[str, Any]) -> dict[str, Any] | None:
    """``log`` without what batchform writes anyway. With awslogs, batchform lays the file's
    options over its own group, Region and stream prefix (compiler/batchform/derive.py,
    ``log_configuration``): an option equal to batchform's is left to it, so the job still
    logs to the group batchform manages (a file naming ``awslogs-group`` gets none); ``None``
    when nothing else is left."""
    if log is None or log.get("driver") != generated["driver"]:
        return log
    ours = generated["options"]
    options = {k: v for k, v in log.get("options", {}).items() if ours.get(k) != v}
    rest = {k: v for k, v in log.items() if k not in ("driver", "options")}
    if not options and not rest:
        return None
    return {"driver": log["driver"], **({"options": options} if options else {}), **rest}


def _log(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """``logConfiguration`` as the file's ``log``: driver, options, secret options. Unset stays
    unset (batchform then writes awslogs into its own group: a difference
    :mod:`batchform.importer.exactness` lists)."""
    if not config or not config.get("logDriver"):
        return None
    out: dict[str, Any] = {"driver": str(config["logDriver"])}
    options = {str(k): str(v) for k, v in sorted((config.get("options") or {}).items())}
    if options:
        out["options"] = options
    secret = {str(s["name"]): str(s["valueFrom"]) for s in config.get("secretOptions", []) or []}
    if secret:
        out["secret_options"] = dict(sorted(secret.items()))
    return out


def job_definition(
    jd: dict[str, Any], key: str, adoption: Adoption, common: dict[str, str]
) -> tuple[dict[str, Any] | None, str | None]:
    """One job definition's entry and its execution role ARN (the file has one for all, under
    ``iam``), or ``None`` for a kind the format cannot hold."""
    name = str(jd["jobDefinitionName"])
    resource = f"job definition {key}"
    props = jd.get("containerProperties")
    other = [k for k in ("nodeProperties", "ecsProperties", "eksProperties") if jd.get(k)]
    if jd.get("type") != "container" or other or not props:
        kind = other[0] if other else f"type {jd.get('type')}"
        adoption.leave_out(
            ("job_definitions",),
            resource,
            kind,
            "only single-container job definitions can be written; it stays outside batchform",
        )
        return None, None
    entry: dict[str, Any] = {"aws_name": name}
    if "FARGATE" in (jd.get("platformCapabilities") or []):
        entry["platform"] = "FARGATE"
    entry["image"] = str(props.get("image", ""))
    if props.get("command"):
        entry["command"] = [str(c) for c in props["command"]]
    if jd.get("parameters"):
        entry["parameters"] = {str(k): str(v) for k, v in sorted(jd["parameters"].items())}
    entry.update(_resources(props))
    environment = {
        str(e["name"]): str(e.get("value", "")) for e in props.get("environment", []) or []
    }
    if environment:
        entry["environment"] = dict(sorted(environment.items()))
    secrets = {str(s["name"]): str(s["valueFrom"]) for s in props.get("secrets", []) or []}
    if secrets:
        entry["secrets"] = dict(sorted(secrets.items()))
    volumes = _volumes(props)
    if volumes:
        entry["volumes"] = volumes
    if props.get("jobRoleArn"):
        entry["job_role"] = {"arn": str(props["jobRoleArn"])}
    if props.get("privileged"):
        entry["privileged"] = True
    platform_version = (props.get("fargatePlatformConfiguration") or {}).get("platformVersion")
    if platform_version and platform_version != "LATEST":
        entry["platform_version"] = str(platform_version)
    if (props.get("networkConfiguration") or {}).get("assignPublicIp") == "ENABLED":
        entry["assign_public_ip"] = True
    storage = (props.get("ephemeralStorage") or {}).get("sizeInGiB")
    if storage:
        entry["ephemeral_storage"] = disk_text(int(storage))
    _container_extras(props, entry)
    own = _own_log(entry.get("log"), _batchform_log(adoption, key))
    if own is None:
        entry.pop("log", None)  # what batchform writes without `log`: nothing to say
    else:
        entry["log"] = own
    retry = _retry(jd.get("retryStrategy"))
    if retry is not None:
        entry["retry"] = retry
    seconds = (jd.get("timeout") or {}).get("attemptDurationSeconds")
    if seconds:
        entry["timeout"] = format_duration(int(seconds))
    if jd.get("propagateTags"):
        entry["propagate_tags"] = True
    if jd.get("schedulingPriority") is not None:
        entry["scheduling_priority"] = int(jd["schedulingPriority"])
    entry["keep_old_revisions"] = True  # KEEP_OLD_REVISIONS says why
    arn = str(jd["jobDefinitionArn"])
    adopted = Adopted("job_definitions", key, "aws_batch_job_definition", arn, name)
    adopted_entry(entry, jd.get("tags"), common, adoption, adopted)
    execution_role = props.get("executionRoleArn")
    return entry, str(execution_role) if execution_role else None


def hoist_defaults(jobs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Move each setting every job has with the same value into ``job_defaults`` (two jobs
    or more: one job has nothing to share); the jobs keep only what differs."""
    if len(jobs) < 2:
        return {}
    defaults: dict[str, Any] = {}
    entries = list(jobs.values())
    for setting in SHARED_SETTINGS:
        values = [entry.get(setting) for entry in entries]
        if values[0] is not None and all(v == values[0] for v in values):
            defaults[setting] = values[0]
            for entry in entries:
                del entry[setting]
    return defaults


def adopt_log_groups(adoption: Adoption, env_name: str, groups: dict[str, dict[str, Any]]) -> None:
    """Log groups named as batchform names a job's group (``/aws/batch/<name>/<key>``, an
    environment batchform made before) are adopted rather than created again, which would
    fail (the name is taken); their retention becomes the job's ``log_retention_days``, and
    the KMS key that encrypts them (``kmsKeyId`` of ``LogGroup``,
    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_LogGroup.html)
    its ``log_kms_key``: without it the first apply would take the key off the group."""
    jobs = adoption.document.get("job_definitions", {})
    defaults = adoption.document.get("job_defaults", {})
    for key, entry in jobs.items():
        name = naming.log_group_name(env_name, key)
        group = groups.get(name)
        if group is None:
            continue
        days = group.get("retentionInDays")
        if days is None:
            adoption.leave_out(
                ("job_definitions", key),
                f"job definition {key}",
                f"log group {name} keeps its events forever",
                "batchform sets a retention (30 days unless log_retention_days says otherwise)",
            )
        elif int(days) != defaults.get("log_retention_days", LOG_RETENTION_DEFAULT):
            entry["log_retention_days"] = int(days)
        if group.get("kmsKeyId"):
            entry["log_kms_key"] = str(group["kmsKeyId"])
        adoption.adopted.append(Adopted("log_groups", key, "aws_cloudwatch_log_group", name, name))
    _hoist_log_settings(adoption.document)


LOG_SETTINGS = ("log_retention_days", "log_kms_key")


def _hoist_log_settings(document: dict[str, Any]) -> None:
    """A log setting every job has with the same value moves to ``job_defaults``, as
    :func:`hoist_defaults` does for the others (the log groups are read after them): one
    line instead of one per job, as a person writes it."""
    jobs = document.get("job_definitions", {})
    shared = {
        setting: values.pop()
        for setting in LOG_SETTINGS
        if len(jobs) >= 2
        and all(setting in entry for entry in jobs.values())
        and len(values := {entry[setting] for entry in jobs.values()}) == 1
    }
    if not shared:
        return
    for entry in jobs.values():
        for setting in shared:
            del entry[setting]
    if "job_defaults" not in document:
        moved = {"job_definitions": document.pop("job_definitions")}
        document["job_defaults"] = {}
        document.update(moved)
    document["job_defaults"].update(shared)

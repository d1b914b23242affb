"""Container options of job definitions (BF520-BF539): user, read-only root, init, shared memory,
tmpfs, devices, swap, ulimits, log driver, architecture, ECS Exec.

Each rule encodes what RegisterJobDefinition, the ECS agent, Docker or the Linux kernel refuse
or quietly ignore, so that the job fails here, located, instead of in RUNNABLE or at container
start. The sources:

- RegisterJobDefinition's ``ContainerProperties``, ``LinuxParameters``, ``Tmpfs``, ``Device``,
  ``Ulimit``, ``LogConfiguration`` and ``RuntimePlatform``
  (https://docs.aws.amazon.com/batch/latest/APIReference/API_LinuxParameters.html and its
  neighbours): which options "aren't applicable to jobs that are running on Fargate
  resources", the tmpfs mount options, the swap interplay, the Fargate log drivers;
- setrlimit(2) (https://man7.org/linux/man-pages/man2/setrlimit.2.html) for ulimits: a soft
  limit above its hard limit is EINVAL, RLIMIT_NOFILE above ``fs.nr_open`` (so never
  unlimited) is EPERM, and either fails the container at start;
- Docker's awslogs driver (https://docs.docker.com/engine/logging/drivers/awslogs/), which
  refuses an option it does not know, and the ECS agent's ``awslogs-stream-prefix``;
- ECS Exec (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html): Fargate
  platform 1.4.0 or later, a job role with ssmmessages permissions, a writable root file
  system for the SSM agent;
- Fargate Spot runs no ARM64 Linux tasks
  (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html).

Every rule walks :func:`containers`, the containers of the file with the path of their options;
node ranges and the containers of multi-container jobs take the same options
(:class:`~batchform.model.ContainerOptions`) and join the walk there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from batchform import instance_types, requirements
from batchform.checks import Finding, rule
from batchform.checks.jobs import FARGATE_MIN_PLATFORM, _platform_at_least
from batchform.checks.security import SECRETS_MANAGER_ARN, SSM_PARAMETER_ARN
from batchform.derive import FARGATE_DEFAULT_PLATFORM_VERSION, LOG_DRIVER, log_secret_options
from batchform.diagnostics import Level, Path
from batchform.model import ContainerOptions, Environment, JobDefinition

# --- the containers of a file ----------------------------------------------------------------


class Container(NamedTuple):
    """One container's options, where they are written, and what it runs on. Node ranges of
    multi-node jobs and the containers of multi-container jobs take the same options and join
    :func:`containers` with their own path, memory and platform."""

    path: Path  # of the mapping holding the options
    job: str  # the job definition's key
    opts: ContainerOptions
    fargate: bool
    memory: int | None  # MiB the container may use (None: missing, reported elsewhere)
    platform_version: str | None  # Fargate only


def containers(env: Environment) -> tuple[Container, ...]:
    """Every container of the file: a job definition's own (``job_defaults`` merged), each node
    range of a multi-node job and each container of a multi-container job, each with the path
    where its options are written (so a finding stands at the key the user wrote).

    Listed once per environment (``Environment.derived``), not once per rule: every rule here
    walks them, and on a 5000-job file 19 walks cost 0.9 s of checks, one costs 0.05 s."""
    return env.derived("checks.containers", _all_containers)


def _all_containers(env: Environment) -> tuple[Container, ...]:
    return tuple(c for key in env.job_definitions for c in _job_containers(key, env.job(key)))


def _job_containers(key: str, job: JobDefinition) -> Iterator[Container]:
    base: Path = ("job_definitions", key)
    fargate = job.platform == "FARGATE"
    if job.containers is not None:
        for name, c in job.containers.items():
            yield Container(
                (*base, "containers", name), key, c, fargate, c.memory, job.platform_version
            )
        return
    # A multi-node job's own options are the defaults of its ranges: checked once, where
    # written; each range's own options are checked at the range, with the memory it runs with.
    yield Container(base, key, job, fargate, job.memory, job.platform_version)
    for i, rng in enumerate(job.nodes.ranges if job.nodes is not None else []):
        memory = rng.memory if rng.memory is not None else job.memory
        yield Container((*base, "nodes", "ranges", i), key, rng, fargate, memory, None)


def _where(c: Container) -> str:
    return f"job definition '{c.job}'"


# --- EC2-only options ------------------------------------------------------------------------

EC2_ONLY_OPTIONS = ("shared_memory", "tmpfs", "devices", "swap", "ulimits")


@rule("BF520", Level.ERROR, "a Fargate job sets an EC2-only container option")
def fargate_ec2_only_options(env: Environment) -> Iterator[Finding]:
    """sharedMemorySize, tmpfs, devices, maxSwap/swappiness and ulimits "aren't applicable to
    jobs that are running on Fargate resources" (API_LinuxParameters, API_ContainerProperties):
    RegisterJobDefinition refuses them for a FARGATE job."""
    for c in containers(env):
        if not c.fargate:
            continue
        for name in EC2_ONLY_OPTIONS:
            if getattr(c.opts, name):
                yield Finding(
                    (*c.path, name),
                    f"{_where(c)} runs on Fargate, where {name} does not exist; "
                    "RegisterJobDefinition refuses it",
                    "remove it, or run the job on EC2 (platform: EC2)",
                )


# --- architecture ----------------------------------------------------------------------------

_ARCH = {"X86_64": "x86_64", "ARM64": "arm64"}


def _queues_running(env: Environment, fargate: bool) -> list[str]:
    """Queues with a compute environment of the job's platform (those that can run it)."""
    return [
        k
        for k, q in env.job_queues.items()
        if any(
            c in env.compute_environments and env.compute_environments[c].is_fargate == fargate
            for c in q.compute_environments
        )
    ]


def _ces_of(env: Environment, queues: list[str], fargate: bool) -> list[str]:
    seen: list[str] = []
    for q in queues:
        for c in env.job_queues[q].compute_environments:
            ce = env.compute_environments.get(c)
            if ce is not None and ce.is_fargate == fargate and c not in seen:
                seen.append(c)
    return seen


def _architectures(env: Environment, ce_key: str) -> set[str]:
    """What batchform knows of a compute environment's architectures (``optimal``: x86_64)."""
    types = env.compute_environments[ce_key].instance_types or [instance_types.OPTIMAL]
    return set(instance_types.architectures(types))


def _fits(env: Environment, queue: str, wanted: str) -> bool:
    """Whether every EC2/SPOT environment of ``queue`` whose architecture batchform knows
    offers ``wanted``."""
    for ce_key in _ces_of(env, [queue], fargate=False):
        found = _architectures(env, ce_key)
        if found and wanted not in found:
            return False
    return True


def _architecture_hint(wanted: str) -> str:
    if wanted == "arm64":
        return (
            "add a queue whose compute environments use Graviton types (m7g, c7g, "
            "default_arm64, ...), or set architecture: X86_64"
        )
    return "add a queue whose compute environments use x86_64 types, or set architecture: ARM64"


@rule("BF521", Level.ERROR, "an EC2 job's architecture matches no queue's instance types")
def ec2_architecture_matches(env: Environment) -> Iterator[Finding]:
    """On EC2 the instance types decide the architecture (runtimePlatform is for Fargate only):
    an ARM64 image placed on x86_64 instances (or the other way round) fails at start with
    "exec format error". An EC2 job with ``architecture`` needs at least one queue whose
    EC2/SPOT environments all offer it, and a schedule must submit it to such a queue. A job
    without ``architecture`` is not judged (its image may be multi-arch)."""
    for c in containers(env):
        if c.fargate or c.opts.architecture is None:
            continue
        wanted = _ARCH[c.opts.architecture]
        queues = _queues_running(env, fargate=False)
        if queues and not any(_fits(env, q, wanted) for q in queues):
            offered = [
                f"{k} ({', '.join(sorted(_architectures(env, k))) or 'unknown'})"
                for k in _ces_of(env, queues, fargate=False)
            ]
            yield Finding(
                (*c.path, "architecture"),
                f"{_where(c)} is built for {c.opts.architecture}, but no job queue runs EC2 "
                f"jobs on it: {', '.join(offered)}",
                _architecture_hint(wanted),
            )
    for key, schedule in env.schedules.items():
        job = env.job_definitions.get(schedule.job_definition)
        if job is None or job.architecture is None or schedule.queue not in env.job_queues:
            continue
        wanted = _ARCH[job.architecture]
        if env.job(schedule.job_definition).platform != "FARGATE" and not _fits(
            env, schedule.queue, wanted
        ):
            yield Finding(
                ("schedules", key, "queue"),
                f"schedule '{key}' submits job definition '{schedule.job_definition}' "
                f"({job.architecture}) to queue '{schedule.queue}', whose instances are not "
                f"{job.architecture}",
                "submit it to a queue whose compute environments match its architecture",
            )


@rule("BF522", Level.ERROR, "an ARM64 Fargate job can only run on FARGATE_SPOT")
def fargate_arm64_not_on_spot(env: Environment) -> Iterator[Finding]:
    """Fargate Spot runs no Linux ARM64 task (ECS, "Fargate capacity providers"): a job whose
    every Fargate environment is FARGATE_SPOT stays RUNNABLE."""
    for c in containers(env):
        if not c.fargate or c.opts.architecture != "ARM64":
            continue
        ces = _ces_of(env, _queues_running(env, fargate=True), fargate=True)
        if ces and all(env.compute_environments[k].type == "FARGATE_SPOT" for k in ces):
            yield Finding(
                (*c.path, "architecture"),
                f"{_where(c)} is ARM64, which Fargate Spot does not run, and every Fargate "
                f"compute environment that can take it is FARGATE_SPOT ({', '.join(ces)}): its "
                "jobs would stay RUNNABLE",
                "add a FARGATE (on-demand) compute environment to its queue, or use X86_64",
            )


# --- ulimits ---------------------------------------------------------------------------------

UNLIMITED = -1


def _limit(value: int) -> float:
    return float("inf") if value == UNLIMITED else value


def _ulimit_problem(name: str, soft: int, hard: int) -> tuple[str, str] | None:
    """(which key, message) for a ulimit setrlimit(2) refuses, else ``None``."""
    for which, value in (("soft", soft), ("hard", hard)):
        if value < UNLIMITED:
            return which, f"{value} is not a limit (-1 means unlimited; other values are >= 0)"
    if name == "nofile" and UNLIMITED in (soft, hard):
        which = "soft" if soft == UNLIMITED else "hard"
        return which, (
            "open files cannot be unlimited: Linux caps nofile at fs.nr_open (1048576 by "
            "default) and refuses more, so the container would not start"
        )
    if _limit(soft) > _limit(hard):
        shown = "unlimited" if soft == UNLIMITED else str(soft)
        return "soft", f"the soft limit ({shown}) is above the hard limit ({hard})"
    return None


@rule("BF523", Level.ERROR, "a ulimit is not one Linux accepts (soft above hard, -1 for nofile)")
def ulimits_valid(env: Environment) -> Iterator[Finding]:
    """setrlimit(2): EINVAL when the soft limit exceeds the hard one, EPERM for RLIMIT_NOFILE
    above fs.nr_open; Docker passes -1 as RLIM_INFINITY. Either failure stops the container
    at start (CannotStartContainerError), after the job was scheduled."""
    for c in containers(env):
        for name, limit in c.opts.ulimits.items():
            problem = _ulimit_problem(name, limit.soft, limit.hard)
            if problem is not None:
                which, message = problem
                yield Finding(
                    (*c.path, "ulimits", name, which),
                    f"ulimit {name} of {_where(c)}: {message}",
                    "use 0 <= soft <= hard, or -1 (unlimited) for both where Linux allows it "
                    "(memlock, stack, core, ...; not nofile)",
                )


# --- tmpfs and devices -----------------------------------------------------------------------

TMPFS_MOUNT_OPTIONS = frozenset(
    {
        "defaults", "ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "sync",
        "async", "dirsync", "remount", "mand", "nomand", "atime", "noatime", "diratime",
        "nodiratime", "bind", "rbind", "unbindable", "runbindable", "private", "rprivate",
        "shared", "rshared", "slave", "rslave", "relatime", "norelatime", "strictatime",
        "nostrictatime", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol",
    }
)  # fmt: skip
"""API_Tmpfs ``mountOptions``: the valid values AWS lists."""
TMPFS_VALUED_OPTIONS = frozenset({"mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"})
"""Options that take a value, written ``mode=1777``."""


def _mount_option_known(option: str) -> bool:
    name, sep, value = option.partition("=")
    if sep:
        return name in TMPFS_VALUED_OPTIONS and value != ""
    return option in TMPFS_MOUNT_OPTIONS


def _absolute(path: str) -> bool:
    return path.startswith("/") and not any(c.isspace() for c in path)


@rule("BF526", Level.ERROR, "a tmpfs mount has a relative or repeated path or an unknown option")
def tmpfs_valid(env: Environment) -> Iterator[Finding]:
    """API_Tmpfs: ``containerPath`` is "the absolute file path in the container", and
    ``mountOptions`` takes the listed values only; two mounts at one path make Docker refuse
    the container ("Duplicate mount point")."""
    for c in containers(env):
        seen: set[str] = set()
        for i, t in enumerate(c.opts.tmpfs):
            at: Path = (*c.path, "tmpfs", i)
            if not _absolute(t.container_path):
                yield Finding(
                    (*at, "container_path"),
                    f"tmpfs container_path '{t.container_path}' of {_where(c)} is not an "
                    "absolute path",
                    "write the path in the container from the root, such as /tmp/work",
                )
            elif t.container_path in seen:
                yield Finding(
                    (*at, "container_path"),
                    f"{_where(c)} mounts two tmpfs volumes at {t.container_path}",
                    "merge them into one (sizes add up), or mount the second elsewhere",
                )
            seen.add(t.container_path)
            for j, option in enumerate(t.mount_options):
                if not _mount_option_known(option):
                    yield Finding(
                        (*at, "mount_options", j),
                        f"tmpfs mount option '{option}' of {_where(c)} is not one AWS accepts",
                        "valid: rw, ro, noexec, nosuid, nodev, noatime, ... and mode=, uid=, "
                        "gid=, nr_inodes=, nr_blocks=, mpol= with a value",
                    )


@rule("BF527", Level.ERROR, "a device has a relative path, a repeated path or permission")
def devices_valid(env: Environment) -> Iterator[Finding]:
    """API_Device: ``hostPath`` is "the path for the device on the host container instance",
    ``containerPath`` where it appears (default: the host path); Docker refuses a relative
    device path and two devices at one container path."""
    for c in containers(env):
        seen: set[str] = set()
        for i, d in enumerate(c.opts.devices):
            at: Path = (*c.path, "devices", i)
            for name in ("host_path", "container_path"):
                value = getattr(d, name)
                if value is not None and not _absolute(value):
                    yield Finding(
                        (*at, name),
                        f"device {name} '{value}' of {_where(c)} is not an absolute path",
                        "devices live under /dev: write /dev/fuse, /dev/nvidia0, ...",
                    )
            target = d.container_path or d.host_path
            if target in seen:
                yield Finding(
                    at,
                    f"{_where(c)} exposes two devices at {target}",
                    "keep one entry per device path",
                )
            seen.add(target)
            repeated = sorted({p for p in d.permissions if d.permissions.count(p) > 1})
            if repeated:
                yield Finding(
                    (*at, "permissions"),
                    f"device {d.host_path} of {_where(c)} lists {', '.join(repeated)} twice",
                    "list each of read, write, mknod at most once (none: all three)",
                )


# --- swap and memory -------------------------------------------------------------------------


@rule("BF528", Level.WARNING, "swap.swappiness is set with swap.max 0, so AWS ignores it")
def swappiness_without_swap(env: Environment) -> Iterator[Finding]:
    """API_LinuxParameters: "If maxSwap is set to 0, the container doesn't use swap" and
    swappiness is then ignored."""
    for c in containers(env):
        swap = c.opts.swap
        if swap is not None and swap.max == 0 and swap.swappiness is not None:
            yield Finding(
                (*c.path, "swap", "swappiness"),
                f"{_where(c)} sets swap.max 0 (no swap), so swappiness {swap.swappiness} "
                "has no effect",
                "give swap a max above 0, or remove swappiness",
            )


@rule("BF529", Level.WARNING, "shared memory and tmpfs together exceed the job's memory")
def memory_backed_mounts_fit(env: Environment) -> Iterator[Finding]:
    """/dev/shm and tmpfs pages are charged to the container's memory cgroup (Linux,
    https://docs.kernel.org/admin-guide/cgroup-v2.html, memory.stat ``shmem``): a job that
    fills them past its memory is OOM-killed, so the size written cannot be used."""
    for c in containers(env):
        shm = c.opts.shared_memory or 0
        tmpfs = sum(t.size for t in c.opts.tmpfs)
        if c.memory is not None and shm + tmpfs > c.memory:
            parts = [f"shared_memory {shm} MiB"] if shm else []
            parts += [f"tmpfs {tmpfs} MiB"] if tmpfs else []
            # at the tmpfs list when there is one (the sizes that come on top), else at /dev/shm
            path: Path = (*c.path, "tmpfs") if tmpfs else (*c.path, "shared_memory")
            yield Finding(
                path,
                f"{_where(c)} asks for {' + '.join(parts)}, more than its {c.memory} MiB of "
                "memory; both live in that memory, so the job is OOM-killed before filling them",
                "lower the sizes, or raise memory",
            )


# --- logging ---------------------------------------------------------------------------------

FARGATE_LOG_DRIVERS = ("awslogs", "splunk")

AWSLOGS_OPTIONS = frozenset(
    {
        "awslogs-create-group", "awslogs-create-stream", "awslogs-credentials-endpoint",
        "awslogs-datetime-format", "awslogs-endpoint", "awslogs-force-flush-interval-seconds",
        "awslogs-format", "awslogs-group", "awslogs-max-buffered-events",
        "awslogs-multiline-pattern", "awslogs-region", "awslogs-stream",
        "awslogs-stream-prefix", "max-buffer-size", "mode", "tag",
    }
)  # fmt: skip
"""Docker's awslogs options (docs.docker.com, awslogs driver) and the ECS agent's
``awslogs-stream-prefix``."""
LOG_MODES = ("blocking", "non-blocking")
BATCHFORM_AWSLOGS_OPTIONS = ("awslogs-group", "awslogs-region", "awslogs-stream-prefix")


@rule("BF530", Level.ERROR, "a Fargate job uses a log driver other than awslogs or splunk")
def fargate_log_driver(env: Environment) -> Iterator[Finding]:
    """API_LogConfiguration: "Jobs that are running on Fargate resources are restricted to the
    awslogs and splunk log drivers"."""
    for c in containers(env):
        log = c.opts.log
        if c.fargate and log is not None and log.driver not in FARGATE_LOG_DRIVERS:
            yield Finding(
                (*c.path, "log", "driver"),
                f"{_where(c)} runs on Fargate, which offers only awslogs and splunk, not "
                f"{log.driver}",
                "use awslogs (the default) or splunk, or run the job on EC2",
            )


@rule("BF531", Level.ERROR, "an awslogs option is unknown to the driver, or its mode is invalid")
def awslogs_options_known(env: Environment) -> Iterator[Finding]:
    """Docker's awslogs driver refuses an option it does not know ("unknown log opt"), and
    ``mode`` is blocking or non-blocking: the container fails to start."""
    for c in containers(env):
        log = c.opts.log
        if log is None or log.driver != LOG_DRIVER:
            continue
        for name, value in log.options.items():
            at: Path = (*c.path, "log", "options", name)
            if name not in AWSLOGS_OPTIONS:
                yield Finding(
                    at,
                    f"'{name}' is not an option of the awslogs log driver ({_where(c)})",
                    "known: " + ", ".join(sorted(AWSLOGS_OPTIONS)),
                )
            elif name == "mode" and value not in LOG_MODES:
                yield Finding(
                    at,
                    f"awslogs mode '{value}' of {_where(c)} is neither blocking nor non-blocking",
                    "use non-blocking (with max-buffer-size) or blocking",
                )


@rule("BF532", Level.WARNING, "awslogs options replace the log group batchform creates")
def awslogs_keeps_generated_group(env: Environment) -> Iterator[Finding]:
    """batchform writes awslogs-group, -region and -stream-prefix for the log group it creates
    (with its retention and KMS key); an option of the same name sends the logs elsewhere."""
    for c in containers(env):
        log = c.opts.log
        if log is None or log.driver != LOG_DRIVER:
            continue
        for name in BATCHFORM_AWSLOGS_OPTIONS:
            if name in log.options:
                yield Finding(
                    (*c.path, "log", "options", name),
                    f"{_where(c)} sets {name}, which batchform already sets for the log group "
                    "it creates: the logs go elsewhere, where log_retention_days and "
                    "log_kms_key do not apply (with awslogs-group in every container, "
                    "batchform creates no group for the job)",
                    "remove the option; log_retention_days and log_kms_key shape the group",
                )


@rule("BF533", Level.ERROR, "a log secret option is not a Secrets Manager or SSM parameter ARN")
def log_secret_options_are_arns(env: Environment) -> Iterator[Finding]:
    """LogConfiguration ``secretOptions`` take a ``valueFrom`` the execution role reads, as job
    secrets do; batchform grants exactly the ARNs named."""
    for c in containers(env):
        for name, value in log_secret_options(c.opts).items():
            if SECRETS_MANAGER_ARN.match(value) or SSM_PARAMETER_ARN.match(value):
                continue
            yield Finding(
                (*c.path, "log", "secret_options", name),
                f"log secret option '{name}' of {_where(c)} is not a Secrets Manager secret or "
                "SSM parameter ARN",
                "use arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME or "
                "arn:aws:ssm:REGION:ACCOUNT:parameter/NAME",
            )


# --- user ------------------------------------------------------------------------------------

_NAME = r"[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?"
_USER = re.compile(rf"^(?:{_NAME}|\d+)(?::(?:{_NAME}|\d+))?\Z")
MAX_ID = 2**32 - 2  # (uid_t)-1 is "no id"


def _user_problem(user: str) -> str | None:
    if not _USER.match(user):
        return "is not user, uid, user:group or uid:gid"
    ids = [int(part) for part in user.split(":") if part.isdigit()]
    if any(i > MAX_ID for i in ids):
        return f"has an id above {MAX_ID}"
    return None


@rule("BF534", Level.ERROR, "user is not a user name or uid, with an optional group or gid")
def user_format(env: Environment) -> Iterator[Finding]:
    """ContainerProperties ``user`` is Docker's ``--user``: ``name|uid[:group|gid]``; anything
    else fails the container at start ("unable to find user")."""
    for c in containers(env):
        if c.opts.user is None:
            continue
        problem = _user_problem(c.opts.user)
        if problem is not None:
            yield Finding(
                (*c.path, "user"),
                f"user '{c.opts.user}' of {_where(c)} {problem}",
                'write "1000", "1000:1000" or "app:app" (names must exist in the image)',
            )


# --- ECS Exec --------------------------------------------------------------------------------

ECS_EXEC_FARGATE_PLATFORM = FARGATE_MIN_PLATFORM  # 1.4.0, as for EFS and 8+ vCPUs
# The first hashicorp/aws release verified to send enableExecuteCommand: 5.100.0 bundles
# aws-sdk-go-v2 service/batch v1.52.4 (read from the provider binary's build info); the field
# arrived in service/batch v1.52.0 (2025-03-27). The provider decodes container_properties into
# that SDK's struct (internal/service/batch/container_properties.go), so an older SDK drops the
# key without a word, and the plan is still empty.
ECS_EXEC_PROVIDER = "5.100.0"


@rule("BF535", Level.ERROR, "ECS Exec on a Fargate platform older than 1.4.0")
def ecs_exec_fargate_platform(env: Environment) -> Iterator[Finding]:
    """ECS Exec needs Fargate platform 1.4.0 or later (ECS developer guide, ECS Exec). The
    finding stands at the platform version the job writes, else at ``job_defaults``'."""
    for c in containers(env):
        if not (c.fargate and c.opts.execute_command):
            continue
        version = c.platform_version or FARGATE_DEFAULT_PLATFORM_VERSION
        if not _platform_at_least(version, ECS_EXEC_FARGATE_PLATFORM):
            own = env.job_definitions[c.job].platform_version is not None
            yield Finding(
                (*c.path, "platform_version") if own else ("job_defaults", "platform_version"),
                f"{_where(c)} turns on ECS Exec, which needs Fargate platform 1.4.0 or later, "
                f"not {version}",
                "set platform_version: LATEST (or 1.4.0), or remove execute_command",
            )


@rule("BF536", Level.ERROR, "ECS Exec with a read-only root file system")
def ecs_exec_needs_writable_root(env: Environment) -> Iterator[Finding]:
    """The SSM agent ECS Exec starts in the container writes its state under /var/lib/amazon
    and /var/log/amazon, so a read-only root file system makes every session fail (ECS
    developer guide, ECS Exec considerations; aws/containers-roadmap#1359)."""
    for c in containers(env):
        if c.opts.execute_command and c.opts.readonly_root_filesystem:
            yield Finding(
                (*c.path, "execute_command"),
                f"{_where(c)} turns on ECS Exec with readonly_root_filesystem: the SSM agent "
                "cannot write its files, so no session opens",
                "remove readonly_root_filesystem, or execute_command",
            )


@rule("BF537", Level.WARNING, "ECS Exec with a job role batchform does not manage")
def ecs_exec_role_given(env: Environment) -> Iterator[Finding]:
    """ECS Exec opens its channels with the job role's ssmmessages permissions; batchform adds
    them to a role it generates (and generates one when the job has none), never to a role
    given by ARN."""
    for c in containers(env):
        role = env.job_definitions[c.job].job_role
        if c.opts.execute_command and role is not None and role.arn is not None:
            yield Finding(
                (*c.path, "job_role", "arn"),
                f"{_where(c)} turns on ECS Exec with the job role {role.arn}; sessions open "
                "only if that role allows ssmmessages:CreateControlChannel, "
                "CreateDataChannel, OpenControlChannel and OpenDataChannel",
                'grant those actions on the role (Resource "*"), or let batchform generate '
                "the job role",
            )


@rule("BF538", Level.WARNING, "ECS Exec with a provider constraint that admits an older provider")
def ecs_exec_provider_floor(env: Environment) -> Iterator[Finding]:
    """An AWS provider whose SDK predates enableExecuteCommand drops it from
    container_properties silently: the job definition is registered without ECS Exec and no
    plan shows a difference. One finding: at ``terraform.aws_provider`` when the file writes
    it, else at the first job that turns ECS Exec on."""
    constraint = env.terraform.aws_provider
    try:
        lowest = requirements.allows_below(constraint, ECS_EXEC_PROVIDER)
    except requirements.ConstraintError:
        return  # BF470 reports malformed constraints
    jobs = [c for c in containers(env) if c.opts.execute_command]
    if lowest is None or not jobs:
        return
    written = "aws_provider" in env.terraform.model_fields_set
    yield Finding(
        ("terraform", "aws_provider") if written else (*jobs[0].path, "execute_command"),
        f"ECS Exec is on ({', '.join(_where(c) for c in jobs)}), but terraform.aws_provider "
        f"'{constraint}' admits provider {requirements.format_version(lowest)}, which may drop "
        "enableExecuteCommand without a word",
        f"set terraform.aws_provider: '>= {ECS_EXEC_PROVIDER}, < 6.0.0' (or '~> 6.0')",
    )

"""Multi-node parallel jobs, multi-container (ECS) jobs, EKS and UNMANAGED compute (BF540-BF559).

Each rule encodes one AWS Batch (or ECS, or Kubernetes) rule that AWS enforces only when the job
definition is registered, the compute environment created, or, worse, when a job is submitted
and stays RUNNABLE. Sources, per rule:

- multi-node parallel jobs: node groups (up to 5 per job, mnp-node-groups.html), node
  properties and target node ranges
  (https://docs.aws.amazon.com/batch/latest/APIReference/API_NodeProperties.html,
  https://docs.aws.amazon.com/batch/latest/APIReference/API_NodeRangeProperty.html), the
  compute environments they run on (https://docs.aws.amazon.com/batch/latest/userguide/mnp-ce.html:
  not on Spot, not on UNMANAGED) and Fargate
  (https://docs.aws.amazon.com/batch/latest/userguide/create-multi-node-job-def.html);
- multi-container jobs: ECS container dependencies
  (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDependency.html:
  COMPLETE and SUCCESS "can't be set on an essential container", HEALTHY needs a health check)
  and Batch's ``ecsProperties``
  (https://docs.aws.amazon.com/batch/latest/APIReference/API_TaskContainerProperties.html);
- EKS: https://docs.aws.amazon.com/batch/latest/userguide/eks.html,
  https://docs.aws.amazon.com/batch/latest/APIReference/API_EksConfiguration.html and
  Kubernetes' DNS label names for namespaces
  (https://kubernetes.io/docs/concepts/overview/working-with-objects/names/);
- UNMANAGED compute environments:
  https://docs.aws.amazon.com/batch/latest/APIReference/API_CreateComputeEnvironment.html
  (computeResources is for managed environments only).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from batchform.checks import Finding, rule
from batchform.derive import NO_MULTINODE_CE_TYPES, is_eks, runs_on
from batchform.diagnostics import Level, Path
from batchform.model import ComputeEnvironment, ContainerOptions, Environment, JobDefinition

# "0", "1:", ":3", "2:5" (NodeRangeProperty.targetNodes)
TARGET_NODES = re.compile(r"^(?P<start>\d+)?(?P<colon>:)?(?P<end>\d+)?\Z")
# "up to five distinct node groups for each job"; up to 1,000 nodes by default, a limit AWS
# raises on request (https://docs.aws.amazon.com/batch/latest/userguide/mnp-node-groups.html)
MAX_NODE_RANGES = 5
MAX_CONTAINERS = 10  # ECS: container definitions per task definition
EKS_CLUSTER_ARN = re.compile(
    r"^arn:aws(?:-cn|-us-gov)?:eks:[a-z]{2}(?:-[a-z]+)+-\d+:\d{12}:cluster/"
    r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}\Z"
)
# A Kubernetes namespace is an RFC 1123 DNS label.
K8S_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
K8S_SERVICE_ACCOUNT = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z"
)
NUMERIC_USER = re.compile(r"^\d+(:\d+)?\Z")

# Keys of a job that a multi-container job takes per container (under `containers`), not at
# its own level. architecture and execute_command are the task's (runtimePlatform,
# enableExecuteCommand of EcsTaskProperties), so they stay at the job level.
TASK_LEVEL_OPTIONS = ("architecture", "execute_command")
PER_CONTAINER_KEYS = (
    "image",
    "command",
    "vcpus",
    "memory",
    "gpus",
    *(name for name in ContainerOptions.model_fields if name not in TASK_LEVEL_OPTIONS),
)
# Keys of a job that Batch on EKS has no place for: eksProperties has no secrets, volumes of
# the ECS kind, log configuration, Linux parameters, ulimits, ECS Exec, job role (a pod gets AWS
# credentials from its service account) or Fargate settings.
EKS_REFUSED_KEYS = (
    "secrets",
    "volumes",
    "job_role",
    "log",
    "ulimits",
    "tmpfs",
    "devices",
    "swap",
    "shared_memory",
    "init_process",
    "execute_command",
    "architecture",
    "assign_public_ip",
    "ephemeral_storage",
    "platform_version",
    "containers",
    "nodes",
    # RegisterJobDefinition: "If the job runs on Amazon EKS resources, then you must not
    # specify propagateTags" (an EKS job compiles propagate_tags = false whatever the defaults)
    "propagate_tags",
)
# What only a managed compute environment takes: an UNMANAGED one has no compute resources.
MANAGED_ONLY_KEYS = (
    "allocation_strategy",
    "bid_percentage",
    "max_vcpus",
    "instance_types",
    "ami",
    "launch_template",
    "security_groups",
    "instance_tags",
    "update_policy",
    "ec2_key_pair",
    "placement_group",
    "availability_zones",
)
EKS_CE_TYPES = ("EC2", "SPOT")


def _job(env: Environment, key: str) -> JobDefinition:
    return env.job_definitions[key]


def _multinode_jobs(env: Environment) -> Iterator[tuple[str, JobDefinition]]:
    for key in env.job_definitions:
        job = env.job(key)
        if job.nodes is not None:
            yield key, job


def target_nodes(text: str, count: int) -> tuple[int, int] | None:
    """``(first, last)`` node index of a ``targetNodes`` range, or ``None`` if malformed.
    An omitted start is 0; an omitted end is the last node (NodeRangeProperty)."""
    match = TARGET_NODES.match(text.strip())
    if match is None or not (match["start"] or match["colon"] or match["end"]):
        return None
    start = int(match["start"]) if match["start"] else 0
    if not match["colon"]:
        return start, start
    end = int(match["end"]) if match["end"] else count - 1
    return start, end


# --- multi-node parallel jobs ----------------------------------------------------------------


@rule("BF540", Level.ERROR, "a multi-node job has no `nodes`, or `nodes` is on another job type")
def multinode_shape(env: Environment) -> Iterator[Finding]:
    for key in env.job_definitions:
        own = _job(env, key)
        if own.type == "multinode" and own.nodes is None:
            yield Finding(
                ("job_definitions", key, "type"),
                f"job definition '{key}' is multinode but has no `nodes`: AWS needs the node "
                "count, the main node and the node ranges",
                "add nodes: {count: 2, main: 0, ranges: [{nodes: '0:'}]}",
            )
        elif own.nodes is not None and "type" in own.model_fields_set and own.type != "multinode":
            yield Finding(
                ("job_definitions", key, "type"),
                f"job definition '{key}' has `nodes` but type {own.type}",
                "set type: multinode, or remove nodes",
            )


@rule("BF541", Level.ERROR, "a node range is malformed or lies outside the job's nodes")
def node_range_syntax(env: Environment) -> Iterator[Finding]:
    for key, job in _multinode_jobs(env):
        assert job.nodes is not None
        count = job.nodes.count
        for i, rng in enumerate(job.nodes.ranges):
            path: Path = ("job_definitions", key, "nodes", "ranges", i, "nodes")
            span = target_nodes(rng.nodes, count)
            if span is None:
                yield Finding(
                    path,
                    f"node range {rng.nodes!r} of job definition '{key}' is not a node index "
                    "or a range",
                    "write '0' (one node), '1:' (node 1 to the last), ':3' or '2:5' (inclusive)",
                )
            elif span[0] > span[1]:
                yield Finding(
                    path,
                    f"node range {rng.nodes!r} of job definition '{key}' ends before it starts",
                    "write the lower node index first, as in '2:5'",
                )
            elif span[1] >= count:
                yield Finding(
                    path,
                    f"node range {rng.nodes!r} of job definition '{key}' is outside nodes 0 to "
                    f"{count - 1} (count {count})",
                    f"use node indexes 0 to {count - 1}, or raise nodes.count",
                )


@rule("BF542", Level.ERROR, "node ranges leave a node without a container or cover it twice")
def node_ranges_cover(env: Environment) -> Iterator[Finding]:
    """Every node must belong to exactly one range: AWS refuses overlapping ranges and a node
    in no range has no container to run."""
    for key, job in _multinode_jobs(env):
        assert job.nodes is not None
        count = job.nodes.count
        spans = [target_nodes(r.nodes, count) for r in job.nodes.ranges]
        if count < 1 or any(s is None or s[0] > s[1] or s[1] >= count for s in spans):
            continue  # BF541 / BF543 say what is wrong with them
        # Interval arithmetic, not a walk over the nodes: a count of 2**31 must not hang.
        ordered = sorted((span, i) for i, span in enumerate(spans) if span is not None)
        covered_to = -1  # the highest node covered so far
        gaps: list[tuple[int, int]] = []
        for (first, last), i in ordered:
            if first <= covered_to:
                other = next(j for (f, la), j in ordered if j != i and f <= first <= la)
                yield Finding(
                    ("job_definitions", key, "nodes", "ranges", i, "nodes"),
                    f"node {first} of job definition '{key}' is in range "
                    f"{job.nodes.ranges[other].nodes!r} and in {job.nodes.ranges[i].nodes!r}",
                    "make the ranges disjoint: '0' and '1:' split off the main node",
                )
            elif first > covered_to + 1:
                gaps.append((covered_to + 1, first - 1))
            covered_to = max(covered_to, last)
        if covered_to < count - 1:
            gaps.append((covered_to + 1, count - 1))
        if gaps:
            yield Finding(
                ("job_definitions", key, "nodes", "ranges"),
                f"{_list_gaps(gaps)} of job definition '{key}' "
                f"{'is' if gaps == [(gaps[0][0], gaps[0][0])] else 'are'} in no node range, "
                "so AWS has no container to run there",
                "extend a range (an open end such as '1:' reaches the last node)",
            )


def _list_gaps(gaps: list[tuple[int, int]]) -> str:
    """``node 3``, ``nodes 3 and 5``, ``nodes 2 to 7, 9``: the nodes no range covers."""
    parts = [str(a) if a == b else f"{a} to {b}" for a, b in gaps[:5]]
    if len(gaps) > 5:
        parts.append(f"{len(gaps) - 5} more gaps")
    single = len(gaps) == 1 and gaps[0][0] == gaps[0][1]
    return ("node " if single else "nodes ") + ", ".join(parts)


@rule("BF543", Level.ERROR, "a multi-node job's count or main node is out of range")
def main_node_in_count(env: Environment) -> Iterator[Finding]:
    for key, job in _multinode_jobs(env):
        assert job.nodes is not None
        nodes = job.nodes
        if nodes.count < 1:
            yield Finding(
                ("job_definitions", key, "nodes", "count"),
                f"job definition '{key}' asks for {nodes.count} nodes",
                "set count to the number of instances the job spans (1 or more)",
            )
        elif not 0 <= nodes.main < nodes.count:
            yield Finding(
                ("job_definitions", key, "nodes", "main"),
                f"main node {nodes.main} of job definition '{key}' is not one of its nodes "
                f"(0 to {nodes.count - 1})",
                "the main node is an index into the nodes; 0 is the usual choice",
            )


@rule("BF544", Level.ERROR, "a multi-node job runs on Fargate or EKS, which have no such jobs")
def multinode_platform(env: Environment) -> Iterator[Finding]:
    for key, job in _multinode_jobs(env):
        if job.platform in ("FARGATE", "EKS"):
            own = _job(env, key)
            yield Finding(
                ("job_definitions", key, "platform")
                if own.platform is not None
                else ("job_definitions", key, "type"),
                f"job definition '{key}' is multi-node and runs on {job.platform}; AWS Batch "
                "runs multi-node parallel jobs only on managed EC2 (On-Demand) compute",
                "set platform: EC2 (the job_defaults platform applies otherwise)",
            )


def _no_multinode_ces(env: Environment, queue_key: str) -> list[str]:
    queue = env.job_queues[queue_key]
    return [
        ce
        for ce in queue.compute_environments
        if ce in env.compute_environments
        and env.compute_environments[ce].type in NO_MULTINODE_CE_TYPES
    ]


@rule(
    "BF545",
    Level.ERROR,
    "a schedule submits a multi-node job as an array job or to a queue with Spot compute",
)
def schedule_multinode_queue(env: Environment) -> Iterator[Finding]:
    """SubmitJob answers "Multinode Array Job not supported" to a multi-node job with
    arrayProperties; Spot and UNMANAGED compute run no multi-node job (mnp-ce.html)."""
    for key, schedule in env.schedules.items():
        if (
            schedule.job_definition not in env.job_definitions
            or schedule.queue not in env.job_queues
        ):
            continue
        if env.job(schedule.job_definition).nodes is None:
            continue
        if schedule.array_size is not None:
            yield Finding(
                ("schedules", key, "array_size"),
                f"schedule '{key}' submits multi-node job definition "
                f"'{schedule.job_definition}' as an array job; SubmitJob refuses it "
                '("Multinode Array Job not supported"), so every run would fail',
                "remove array_size: a multi-node job spreads its work over its nodes instead",
            )
        refused = _no_multinode_ces(env, schedule.queue)
        if refused:
            yield Finding(
                ("schedules", key, "queue"),
                f"multi-node job definition '{schedule.job_definition}' is scheduled on queue "
                f"'{schedule.queue}', whose compute environments {', '.join(refused)} cannot "
                "run multi-node jobs (Spot, UNMANAGED or Fargate): the job would stay RUNNABLE",
                "schedule it on a queue of On-Demand EC2 compute environments only",
            )


@rule("BF546", Level.WARNING, "no job queue can run a multi-node job")
def multinode_has_queue(env: Environment) -> Iterator[Finding]:
    for key, job in _multinode_jobs(env):
        if job.platform in ("FARGATE", "EKS"):
            continue  # BF544
        fit = [
            q
            for q, queue in env.job_queues.items()
            if not _no_multinode_ces(env, q)
            and any(
                runs_on(job, env.compute_environments[c])
                for c in queue.compute_environments
                if c in env.compute_environments
            )
        ]
        if env.job_queues and not fit:
            yield Finding(
                ("job_definitions", key, "nodes"),
                f"job definition '{key}' is multi-node, but every job queue here has a Spot, "
                "UNMANAGED or Fargate compute environment (or none for EC2), where AWS runs no "
                "multi-node job: it could not run anywhere here",
                "add a queue of On-Demand EC2 compute environments (best with a cluster "
                "placement group)",
            )


@rule("BF554", Level.ERROR, "a multi-node job has more than 5 node ranges")
def node_range_count(env: Environment) -> Iterator[Finding]:
    for key, job in _multinode_jobs(env):
        assert job.nodes is not None
        if len(job.nodes.ranges) > MAX_NODE_RANGES:
            yield Finding(
                ("job_definitions", key, "nodes", "ranges", MAX_NODE_RANGES),
                f"job definition '{key}' has {len(job.nodes.ranges)} node ranges; AWS Batch "
                f"takes up to {MAX_NODE_RANGES} node groups per job",
                "merge ranges that run the same container (one range can span many nodes)",
            )


@rule("BF559", Level.ERROR, "a node range has no image, vCPUs or memory, not even the job's")
def node_range_complete(env: Environment) -> Iterator[Finding]:
    for key, job in _multinode_jobs(env):
        assert job.nodes is not None
        for i, rng in enumerate(job.nodes.ranges):
            missing = [
                name
                for name in ("image", "vcpus", "memory")
                if getattr(rng, name) is None and getattr(job, name) is None
            ]
            if missing:
                yield Finding(
                    ("job_definitions", key, "nodes", "ranges", i),
                    f"node range {rng.nodes!r} of job definition '{key}' has no "
                    f"{', '.join(missing)}: neither the range nor the job sets "
                    f"{'it' if len(missing) == 1 else 'them'}",
                    "set them in the range, or at the job level as the default of every range",
                )


# --- multi-container jobs --------------------------------------------------------------------


def _container_jobs(env: Environment) -> Iterator[tuple[str, JobDefinition]]:
    for key in env.job_definitions:
        job = env.job(key)
        if job.containers is not None:
            yield key, job


@rule("BF547", Level.ERROR, "a multi-container job has no essential container, or over 10")
def essential_container(env: Environment) -> Iterator[Finding]:
    """ECS stops the task when an essential container stops; Batch requires at least one, or
    the job would have no container whose exit ends it (TaskContainerProperties.essential).
    A task holds at most 10 containers (ECS service quota "Container definitions per task
    definition", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html)."""
    for key, job in _container_jobs(env):
        assert job.containers is not None
        if len(job.containers) > MAX_CONTAINERS:
            yield Finding(
                ("job_definitions", key, "containers"),
                f"job definition '{key}' has {len(job.containers)} containers; a task holds "
                f"at most {MAX_CONTAINERS}",
                "merge sidecars, or split the work into jobs with dependencies",
            )
        if not job.containers:
            yield Finding(
                ("job_definitions", key, "containers"),
                f"job definition '{key}' lists no containers",
                "add at least one container, or remove containers for a single-container job",
            )
        elif not any(c.essential for c in job.containers.values()):
            yield Finding(
                ("job_definitions", key, "containers"),
                f"no container of job definition '{key}' is essential: AWS needs at least one, "
                "whose exit ends the job",
                "set essential: true (the default) on the main container",
            )


@rule("BF548", Level.ERROR, "depends_on names a container the job does not have, or itself")
def depends_on_known(env: Environment) -> Iterator[Finding]:
    for key, job in _container_jobs(env):
        assert job.containers is not None
        for name, container in job.containers.items():
            for other in container.depends_on:
                path: Path = ("job_definitions", key, "containers", name, "depends_on", other)
                if other == name:
                    yield Finding(
                        path,
                        f"container '{name}' of job definition '{key}' depends on itself",
                        "remove it from its own depends_on",
                    )
                elif other not in job.containers:
                    yield Finding(
                        path,
                        f"container '{name}' of job definition '{key}' depends on '{other}', "
                        "which is not one of its containers",
                        "containers of this job: " + ", ".join(sorted(job.containers)),
                    )


@rule("BF549", Level.ERROR, "container dependencies form a cycle")
def depends_on_acyclic(env: Environment) -> Iterator[Finding]:
    """ECS starts a container after the ones it depends on: a cycle can never start."""
    for key, job in _container_jobs(env):
        assert job.containers is not None
        graph = {
            n: [o for o in c.depends_on if o in job.containers and o != n]
            for n, c in job.containers.items()
        }
        cycle = _find_cycle(graph)
        if cycle:
            first = cycle[0]
            yield Finding(
                ("job_definitions", key, "containers", first, "depends_on", cycle[1]),
                f"the containers of job definition '{key}' wait for each other: "
                + " -> ".join([*cycle, first]),
                "remove one of these dependencies",
            )


def _find_cycle(graph: dict[str, list[str]]) -> list[str]:
    """One cycle of ``graph`` (the first found in name order), or an empty list. Iterative, so
    a hostile chain of thousands of containers cannot exhaust the interpreter's stack."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in sorted(graph):
        if root in state:
            continue
        path: list[str] = [root]
        pending: list[list[str]] = [sorted(graph[root], reverse=True)]
        state[root] = 1
        while path:
            if not pending[-1]:
                state[path.pop()] = 2
                pending.pop()
                continue
            nxt = pending[-1].pop()
            if state.get(nxt) == 1:
                return path[path.index(nxt) :]
            if nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                pending.append(sorted(graph[nxt], reverse=True))
    return []


@rule("BF550", Level.ERROR, "depends_on waits for HEALTHY, but batchform sets no health check")
def healthy_needs_health_check(env: Environment) -> Iterator[Finding]:
    """HEALTHY "requires that the dependent container has health checks configured"; a job's
    containers have no health check key here (Batch's TaskContainerProperties has none), so
    the task would never start."""
    for key, job in _container_jobs(env):
        assert job.containers is not None
        for name, container in job.containers.items():
            for other, condition in container.depends_on.items():
                if condition == "HEALTHY":
                    yield Finding(
                        ("job_definitions", key, "containers", name, "depends_on", other),
                        f"container '{name}' of job definition '{key}' waits for '{other}' to "
                        "be HEALTHY, but a Batch container has no health check, so it never is",
                        "wait for START instead (the sidecar has started), or have the main "
                        "container retry until the sidecar answers",
                    )


@rule("BF551", Level.ERROR, "depends_on waits for an essential container to COMPLETE or SUCCEED")
def complete_not_on_essential(env: Environment) -> Iterator[Finding]:
    """COMPLETE and SUCCESS "can't be set on an essential container" (ECS ContainerDependency):
    an essential container that exits ends the task."""
    for key, job in _container_jobs(env):
        assert job.containers is not None
        for name, container in job.containers.items():
            for other, condition in container.depends_on.items():
                target = job.containers.get(other)
                if condition in ("COMPLETE", "SUCCESS") and target is not None and target.essential:
                    yield Finding(
                        ("job_definitions", key, "containers", name, "depends_on", other),
                        f"container '{name}' of job definition '{key}' waits for '{other}' to "
                        f"{condition.lower()}, but '{other}' is essential: its exit would end "
                        "the task, so AWS refuses the dependency",
                        f"set essential: false on '{other}' (a setup container), or wait for START",
                    )


@rule("BF552", Level.ERROR, "a multi-container job sets a per-container key at the job level")
def containers_own_keys(env: Environment) -> Iterator[Finding]:
    for key in env.job_definitions:
        own = _job(env, key)
        if own.containers is None:
            continue
        base: Path = ("job_definitions", key)
        if own.nodes is not None or own.type == "multinode":
            yield Finding(
                (*base, "containers"),
                f"job definition '{key}' has both `containers` and `nodes`",
                "a multi-node job runs one container per node range: remove one of them",
            )
        for name in PER_CONTAINER_KEYS:
            if name in own.model_fields_set and getattr(own, name) not in (None, [], {}):
                yield Finding(
                    (*base, name),
                    f"job definition '{key}' has containers, so `{name}` belongs to each "
                    "container, not to the job",
                    f"move {name} under the container it is meant for",
                )
        for cname, container in (own.containers or {}).items():
            for name in TASK_LEVEL_OPTIONS:
                if name in container.model_fields_set:
                    yield Finding(
                        (*base, "containers", cname, name),
                        f"`{name}` is set for the whole task of job definition '{key}', not "
                        "per container",
                        f"move {name} to the job level",
                    )


# --- EKS -------------------------------------------------------------------------------------


@rule("BF553", Level.ERROR, "a job queue mixes EKS with ECS compute environments")
def queue_eks_not_mixed(env: Environment) -> Iterator[Finding]:
    """A queue's compute environments must all be EKS or all ECS (CreateJobQueue; Batch on EKS
    docs): an EKS job cannot run on an ECS one, nor an ECS job on an EKS one."""
    for key, queue in env.job_queues.items():
        ces = {
            c: env.compute_environments[c]
            for c in queue.compute_environments
            if c in env.compute_environments
        }
        eks = sorted(c for c, ce in ces.items() if ce.is_eks)
        ecs = sorted(c for c, ce in ces.items() if not ce.is_eks)
        if eks and ecs:
            yield Finding(
                ("job_queues", key, "compute_environments"),
                f"job queue '{key}' mixes EKS ({', '.join(eks)}) with ECS ({', '.join(ecs)}) "
                "compute environments; AWS refuses the queue",
                "make one queue for the EKS compute environments and one for the others",
            )


@rule("BF555", Level.ERROR, "an EKS compute environment's cluster ARN or namespace is invalid")
def eks_configuration_valid(env: Environment) -> Iterator[Finding]:
    for key, ce in env.compute_environments.items():
        if ce.eks is None:
            continue
        base: Path = ("compute_environments", key, "eks")
        if not EKS_CLUSTER_ARN.match(ce.eks.cluster):
            yield Finding(
                (*base, "cluster"),
                f"{ce.eks.cluster!r} is not an EKS cluster ARN",
                "arn:aws:eks:<region>:<account>:cluster/<name> (aws eks describe-cluster "
                "--name <name> --query cluster.arn)",
            )
        elif ce.eks.cluster.split(":")[3] != env.region:
            yield Finding(
                (*base, "cluster"),
                f"EKS cluster {ce.eks.cluster!r} is in {ce.eks.cluster.split(':')[3]}, not in "
                f"this environment's region {env.region}",
                "a compute environment joins a cluster of its own region",
            )
        if not K8S_NAMESPACE.match(ce.eks.namespace):
            yield Finding(
                (*base, "namespace"),
                f"{ce.eks.namespace!r} is not a Kubernetes namespace name",
                "1-63 lowercase letters, digits and '-', starting and ending with a letter "
                "or digit",
            )


@rule("BF556", Level.ERROR, "an EKS compute environment has a type or image EKS does not take")
def eks_compute_type(env: Environment) -> Iterator[Finding]:
    for key, ce in env.compute_environments.items():
        if ce.eks is None:
            continue
        if ce.type not in EKS_CE_TYPES and ce.type != "UNMANAGED":
            yield Finding(
                ("compute_environments", key, "type"),
                f"compute environment '{key}' is {ce.type} with `eks`; Batch on EKS runs on EC2 "
                "and SPOT instances only",
                "set type: EC2 or SPOT",
            )
        ami = env.amis.get(ce.ami) if ce.ami is not None else None
        if ami is not None and ami.image_type is not None:
            yield Finding(
                ("compute_environments", key, "ami"),
                f"compute environment '{key}' is an EKS one, but AMI '{ce.ami}' names the ECS "
                f"image family {ami.image_type}",
                "remove ami (batchform picks EKS_AL2023, or EKS_AL2023_NVIDIA for GPU "
                "families), or name an EKS-optimized AMI by id or ssm_parameter",
            )


@rule("BF558", Level.ERROR, "an EKS job sets a key Batch on EKS has no place for")
def eks_job_keys(env: Environment) -> Iterator[Finding]:
    for key in env.job_definitions:
        own = _job(env, key)
        job = env.job(key)
        base: Path = ("job_definitions", key)
        if not is_eks(job):
            if own.service_account is not None:
                yield Finding(
                    (*base, "service_account"),
                    f"job definition '{key}' runs on {job.platform}, where a Kubernetes "
                    "service account means nothing",
                    "set platform: EKS, or remove service_account",
                )
            continue
        for name in EKS_REFUSED_KEYS:
            if name in own.model_fields_set and getattr(own, name) not in (None, False, [], {}):
                yield Finding(
                    (*base, name),
                    f"job definition '{key}' runs on EKS, whose pods have no `{name}`",
                    _EKS_HINTS.get(name, f"remove {name}, or run the job on EC2"),
                )
        if job.user is not None and not NUMERIC_USER.match(job.user):
            yield Finding(
                (*base, "user"),
                f"user {job.user!r} of EKS job definition '{key}': Kubernetes runs containers "
                "as numeric ids only (runAsUser/runAsGroup)",
                'write the uid, or uid:gid, such as "1000" or "1000:1000"',
            )
        if job.service_account is not None and not K8S_SERVICE_ACCOUNT.match(job.service_account):
            yield Finding(
                (*base, "service_account"),
                f"{job.service_account!r} is not a Kubernetes service account name",
                "lowercase letters, digits, '-' and '.', starting and ending with a letter or "
                "digit",
            )


_EKS_HINTS = {
    "propagate_tags": "remove propagate_tags: AWS refuses it for jobs on EKS",
    "job_role": "give the pod's service_account an IAM role (EKS Pod Identity or IRSA) instead",
    "secrets": "read secrets from the pod (a Kubernetes secret or the AWS SDK) instead",
    "log": "pod logs go where the cluster sends them (e.g. Fluent Bit); remove log",
}


# --- UNMANAGED compute environments ----------------------------------------------------------


@rule("BF557", Level.ERROR, "an UNMANAGED compute environment sets a managed-only key")
def unmanaged_keys(env: Environment) -> Iterator[Finding]:
    for key in env.compute_environments:
        ce: ComputeEnvironment = env.compute_environments[key]
        if not ce.is_unmanaged:
            continue
        for name in MANAGED_ONLY_KEYS:
            if name in ce.model_fields_set and getattr(ce, name) not in (None, [], {}):
                yield Finding(
                    ("compute_environments", key, name),
                    f"compute environment '{key}' is UNMANAGED: its instances are the ones you "
                    f"launch and register, so `{name}` has no effect (AWS takes no compute "
                    "resources for it)",
                    f"remove {name}, or make the compute environment EC2 or SPOT",
                )

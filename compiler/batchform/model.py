"""Model stage: raw mapping -> frozen pydantic models of an environment file.

The model holds the *shape* of the format (key names, types, enumerations, units, "exactly one
of") so that later stages can trust it. AWS limits and cross-references are checks
(``batchform.checks``), each with its own code, so that users can look them up and silence
warnings one by one.

Field names are the file format's contract (docs/environment.md); do not rename them.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    StringConstraints,
    Tag,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails

from batchform import requirements
from batchform.codes import CODE_INVALID_VALUE, CODE_MISSING_KEY, CODE_UNKNOWN_KEY
from batchform.diagnostics import Diagnostic, Level, Path, format_path
from batchform.units import parse_disk_gib, parse_duration, parse_memory_mib

KEY_PATTERN = r"^[a-z][a-z0-9-]{0,31}$"
NAME_PATTERN = r"^[a-z][a-z0-9-]{1,27}$"

Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
Duration = Annotated[int, BeforeValidator(parse_duration)]
MemoryMiB = Annotated[int, BeforeValidator(parse_memory_mib)]
DiskGiB = Annotated[int, BeforeValidator(parse_disk_gib)]
State = Literal["ENABLED", "DISABLED"]


def _cidr(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("a CIDR block must be a string such as 10.0.0.0/16")
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"'{value}' is not a valid CIDR block ({exc})") from None
    return str(net)


Cidr = Annotated[str, BeforeValidator(_cidr)]


def _string(value: object) -> object:
    """Accept numbers where a string is expected (tag values like ``4711`` written unquoted).

    ``str()`` of a number the loader read gives the text as written (``0755``, ``3.10``; see
    :class:`batchform.loader.SourceInt`), so the value keeps its meaning."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


Str = Annotated[str, BeforeValidator(_string)]


class NotANumber:
    """A boolean given where a number is expected: pydantic would read ``true`` as 1.

    :meth:`Strict._no_booleans_for_numbers` swaps the boolean for this marker, which no number
    field accepts, so the error stands at the field itself; :func:`_one_schema_diagnostic`
    words it."""

    def __init__(self, value: bool) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "true" if self.value else "false"


def _accepts_number(annotation: Any) -> bool:
    """True for ``int``, ``float``, ``Literal[1]`` and optional or union forms of them."""
    if annotation is int or annotation is float:
        return True
    if typing.get_origin(annotation) is Literal:
        return any(
            isinstance(a, int) and not isinstance(a, bool) for a in typing.get_args(annotation)
        )
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_accepts_number(a) for a in typing.get_args(annotation))
    return False


class Strict(BaseModel):
    """Base of every model. Numbers reach text fields as the text written
    (``coerce_numbers_to_str``), ``.inf`` and ``.nan`` are no number of the format, and a
    boolean is never read as 0 or 1."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=False,
        coerce_numbers_to_str=True,
        allow_inf_nan=False,
    )

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        swapped = {
            name: NotANumber(data[name])
            for name in _number_fields(cls)
            if isinstance(data.get(name), bool)
        }
        return {**data, **swapped} if swapped else data


@functools.cache
def _number_fields(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(n for n, f in model.model_fields.items() if _accepts_number(f.annotation))


def _exactly_one(model: BaseModel, names: tuple[str, ...], where: str) -> None:
    given = [n for n in names if getattr(model, n) is not None]
    if len(given) != 1:
        choices = ", ".join(f"`{n}`" for n in names)
        found = f" (found {', '.join(given)})" if given else ""
        raise ValueError(f"{where} needs exactly one of {choices}{found}")


_M = typing.TypeVar("_M", bound=BaseModel)
_D = typing.TypeVar("_D")


def _require_keys(
    cls: type[_M], data: Any, handler: ModelWrapValidatorHandler[_M], names: tuple[str, ...]
) -> _M:
    """Validate ``data`` with ``handler`` and report each of ``names`` it lacks as pydantic's
    own "missing" error at that key, beside the model's other errors: for keys required only
    in some forms of a model (a plain job's ``image``; ``max_vcpus`` of a managed CE), so the
    user gets the same located BF102 as for an always-required key."""
    missing = [
        InitErrorDetails(type="missing", loc=(name,), input=data)
        for name in names
        if isinstance(data, Mapping) and data.get(name) is None
    ]
    try:
        model = handler(data)
    except ValidationError as exc:
        if not missing:
            raise
        others = [
            InitErrorDetails(type=e["type"], loc=e["loc"], input=e["input"], ctx=e.get("ctx", {}))
            for e in exc.errors()
        ]
        raise ValidationError.from_exception_data(exc.title, [*others, *missing]) from None
    if missing:
        raise ValidationError.from_exception_data(cls.__name__, missing)
    return model


# --- terraform -------------------------------------------------------------------------------


class S3Backend(Strict):
    bucket: str
    key: str
    region: str
    # Given: lock with this DynamoDB table (deprecated from Terraform 1.11). Omitted: the
    # backend locks with an S3 lock file (`use_lockfile`, Terraform >= 1.10).
    dynamodb_table: str | None = None
    encrypt: bool = True


class Backend(Strict):
    s3: S3Backend


class TerraformSettings(Strict):
    # None: ">= 1.5.0", or ">= 1.10.0" when the S3 backend locks with a lock file.
    required_version: str | None = None
    aws_provider: str = requirements.provider_default()
    backend: Backend | None = None
    # root: a root module (provider, backend); module: a child module another configuration
    # calls (no provider/backend, variables.tf), see docs/module-output.md.
    output: Literal["root", "module"] = "root"


# --- AWS names and per-resource tags (compiler/batchform/naming.py) ---------------------------


class AwsNamed(Strict):
    """The AWS name of a keyed resource (Batch kinds, security groups, schedules), when
    ``<name>-<key>`` will not do.

    ``aws_name`` is the exact name (to adopt a resource other tools already use); on a compute
    environment it replaces the Terraform name prefix. ``aws_name_prefix`` replaces the
    ``<name>-`` every generated name starts with (``<prefix><key>``). Their AWS rules are
    checks (BF321, BF400, BF493, BF560, BF567, BF568), so each error has its own code and
    line."""

    aws_name: Str | None = None
    aws_name_prefix: Str | None = None


class ResourceTags(Strict):
    """Extra tags on one resource (compute environment, queue, scheduling policy, security
    group), over the file's ``tags`` (which the provider applies as ``default_tags``): a key
    set in both takes this value on this resource."""

    tags: dict[Str, Str] = {}


# --- network ---------------------------------------------------------------------------------


class VpcCreate(Strict):
    cidr: Cidr
    availability_zones: list[str] = Field(min_length=1)
    nat_gateways: Literal["single", "per_az", "none"] = "single"
    public_subnets: list[Cidr] | None = None
    private_subnets: list[Cidr] | None = None


class VpcExisting(Strict):
    vpc_id: str
    private_subnets: list[str] = []
    public_subnets: list[str] = []


class Vpc(Strict):
    create: VpcCreate | None = None
    existing: VpcExisting | None = None

    @model_validator(mode="after")
    def _one(self) -> Vpc:
        _exactly_one(self, ("create", "existing"), "network.vpc")
        return self


Protocol = Literal["tcp", "udp", "icmp", "all"]


class SecurityGroupRule(Strict):
    protocol: Protocol = "tcp"
    ports: int | str | None = None  # 22, "8000-8080"; omitted for all/icmp
    cidr: Cidr | None = None
    security_group: Key | None = None  # another key under network.security_groups
    description: str | None = None

    @model_validator(mode="after")
    def _source(self) -> SecurityGroupRule:
        _exactly_one(self, ("cidr", "security_group"), "a security group rule")
        return self


class SecurityGroup(AwsNamed, ResourceTags):
    """A security group batchform creates. ``aws_name`` / ``aws_name_prefix`` follow EC2's
    group name rules (BF567), ``tags`` are its own tags over the file's."""

    description: str | None = None
    egress: Literal["all", "none"] | list[SecurityGroupRule] = "all"
    ingress: list[SecurityGroupRule] = []


EndpointService = Literal[
    "dynamodb",
    "ecr.api",
    "ecr.dkr",
    "ecs",
    "ecs-agent",
    "ecs-telemetry",
    "elasticfilesystem",
    "logs",
    "s3",
    "secretsmanager",
    "ssm",
    "sts",
]
VPC_ENDPOINT_SERVICES: tuple[str, ...] = typing.get_args(EndpointService)
GATEWAY_ENDPOINT_SERVICES = ("dynamodb", "s3")


EFS_ID_PATTERN = r"^fs-[0-9a-f]{8,40}$"
EfsId = Annotated[str, StringConstraints(pattern=EFS_ID_PATTERN)]
DEFAULT_SECURITY_GROUP_KEY = "batch"
SECURITY_GROUP_ID = re.compile(r"^sg-([0-9a-f]{8}|[0-9a-f]{17})\Z")


def is_security_group_id(value: str) -> bool:
    """A well-formed id of an existing security group (``sg-`` and 8 or 17 hex digits)."""
    return SECURITY_GROUP_ID.match(value) is not None


class Network(Strict):
    vpc: Vpc
    security_groups: dict[Key, SecurityGroup] = {}
    endpoints: list[EndpointService] = []
    efs: list[EfsId] = []  # file systems jobs mount: batchform gives them mount targets here


# --- machine images and launch templates -----------------------------------------------------

ImageType = Literal["ECS_AL2", "ECS_AL2_NVIDIA", "ECS_AL2023", "ECS_AL2023_NVIDIA"]


class Ami(Strict):
    id: str | None = None
    ssm_parameter: str | None = None
    image_type: ImageType | None = None

    @model_validator(mode="after")
    def _one(self) -> Ami:
        _exactly_one(self, ("id", "ssm_parameter", "image_type"), "an AMI")
        return self


VolumeType = Literal["gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"]


class RootVolume(Strict):
    size: DiskGiB
    type: VolumeType = "gp3"
    iops: int | None = None
    throughput: int | None = None


class ScratchVolume(RootVolume):
    device: str = "/dev/xvdb"
    mount_path: str = "/scratch"
    filesystem: Literal["xfs", "ext4"] = "xfs"


class LaunchTemplate(Strict):
    root_volume: RootVolume | None = None
    scratch_volume: ScratchVolume | None = None
    encrypted: bool = True
    imdsv2: Literal["required", "optional"] = "required"
    # 1: only processes on the instance itself (the ECS agent) reach IMDS; jobs in containers
    # get their role's credentials from the agent. EC2 accepts 1-64.
    imds_hop_limit: Annotated[int, Field(ge=1, le=64)] = 1
    user_data: str | None = None


# --- IAM -------------------------------------------------------------------------------------


class InstanceRole(Strict):
    """``iam.instance_role`` as a mapping: the generated instance role, with more managed
    policies attached (the SSM agent's, for example)."""

    managed_policies: list[str] = []


class Iam(Strict):
    service_role: str = "service-linked"  # service-linked | generated | role ARN
    # generated | instance-profile ARN | {managed_policies: [...]} (generated, plus policies)
    instance_role: str | InstanceRole = "generated"
    spot_fleet_role: str = "generated"  # generated | role ARN
    execution_role: str = "generated"  # generated | role ARN (Fargate jobs, secrets)
    execution_kms_keys: list[str] = []  # customer-managed keys of the jobs' secrets
    # path and permissions boundary of every role (and the instance profile) batchform makes
    path: str | None = None
    permissions_boundary: str | None = None

    @property
    def instance_role_value(self) -> str:
        """``generated`` (also for the mapping form) or the instance-profile ARN given."""
        role = self.instance_role
        return role if isinstance(role, str) else "generated"

    @property
    def instance_role_policies(self) -> list[str]:
        """Managed policies to attach to the generated instance role besides ECS's own."""
        role = self.instance_role
        return [] if isinstance(role, str) else list(role.managed_policies)


# --- compute ---------------------------------------------------------------------------------

CeType = Literal["EC2", "SPOT", "FARGATE", "FARGATE_SPOT", "UNMANAGED"]
AllocationStrategy = Literal[
    "BEST_FIT",
    "BEST_FIT_PROGRESSIVE",
    "SPOT_CAPACITY_OPTIMIZED",
    "SPOT_PRICE_CAPACITY_OPTIMIZED",
]


class UpdatePolicy(Strict):
    terminate_jobs_on_update: bool = False
    job_execution_timeout: Duration = 1800


PlacementStrategy = Literal["cluster", "spread", "partition"]


class PlacementGroupSpec(Strict):
    """A placement group batchform creates for one compute environment."""

    strategy: PlacementStrategy


def _placement_group_form(value: Any) -> str:
    """Which form a ``placement_group`` takes, so a wrong value gets one error for that form
    (the tags are no identifiers, so diagnostics leave them out of the path)."""
    return "{strategy}" if isinstance(value, Mapping | PlacementGroupSpec) else "group name"


PlacementGroup = Annotated[
    Annotated[PlacementGroupSpec, Tag("{strategy}")] | Annotated[str, Tag("group name")],
    Discriminator(_placement_group_form),
]


class EksConfiguration(Strict):
    """``eks_configuration`` of a compute environment: the cluster its instances join and the
    Kubernetes namespace Batch runs the jobs' pods in (both fixed when the CE is created)."""

    cluster: str  # cluster ARN: arn:aws:eks:<region>:<account>:cluster/<name>
    namespace: str


class ExistingLaunchTemplate(Strict):
    """A launch template that exists already (made elsewhere), by ``id`` or ``name``, pinned to
    one numeric ``version`` (BF561: Batch resolves ``$Latest``/``$Default`` only when the CE is
    created or updated, so they would never follow the template)."""

    id: str | None = None
    name: str | None = None
    version: Str | None = None

    @model_validator(mode="after")
    def _one(self) -> ExistingLaunchTemplate:
        _exactly_one(self, ("id", "name"), "an existing launch template")
        return self


def _launch_template_form(value: Any) -> str:
    """A mapping is an existing template, a string the key of one batchform creates."""
    return "{id|name, version}" if isinstance(value, Mapping | ExistingLaunchTemplate) else "key"


LaunchTemplateRef = Annotated[
    Annotated[ExistingLaunchTemplate, Tag("{id|name, version}")] | Annotated[Key, Tag("key")],
    Discriminator(_launch_template_form),
]


class ComputeEnvironment(AwsNamed, ResourceTags):
    type: CeType
    allocation_strategy: AllocationStrategy | None = None
    bid_percentage: int | None = None
    min_vcpus: int = 0
    # required for every managed type (a missing key is BF102); an UNMANAGED CE takes none
    max_vcpus: int | None = None
    instance_types: list[str] | None = None
    ami: Key | None = None
    # a key under launch_templates, or {id: lt-..., version: "7"} / {name: ..., version: ...}
    launch_template: LaunchTemplateRef | None = None
    subnets: Literal["private", "public"] | list[str] = "private"
    # keys under network.security_groups and/or ids of existing groups (sg-...); default: every
    # group under network.security_groups, or the `<name>-batch` group made when there is none
    security_groups: list[str] | None = None
    state: State = "ENABLED"
    instance_tags: dict[Str, Str] = {}
    update_policy: UpdatePolicy | None = None
    ec2_key_pair: str | None = None
    # {strategy: ...}: created by batchform; a string names an existing group
    placement_group: PlacementGroup | None = None
    # only this CE's subnets in these AZs (of a VPC batchform creates)
    availability_zones: list[str] | None = None
    # --- multi-node, multi-container and EKS (second release) ---
    # instances join this EKS cluster: Batch runs the jobs as pods in the namespace
    eks: EksConfiguration | None = None

    @model_validator(mode="wrap")
    @classmethod
    def _managed_needs_max_vcpus(
        cls, data: Any, handler: ModelWrapValidatorHandler[ComputeEnvironment]
    ) -> ComputeEnvironment:
        """``max_vcpus`` is required, as before, except on an UNMANAGED CE (which has no
        compute resources): a missing key stays the located BF102 it always was."""
        unmanaged = isinstance(data, Mapping) and data.get("type") == "UNMANAGED"
        return _require_keys(cls, data, handler, () if unmanaged else ("max_vcpus",))

    @property
    def is_fargate(self) -> bool:
        return self.type in ("FARGATE", "FARGATE_SPOT")

    @property
    def is_unmanaged(self) -> bool:
        return self.type == "UNMANAGED"

    @property
    def is_eks(self) -> bool:
        return self.eks is not None

    @property
    def vcpu_limit(self) -> int:
        """``max_vcpus`` of a managed CE; 0 for an UNMANAGED one, whose capacity is the
        instances its owner registers (batchform cannot know it)."""
        return self.max_vcpus or 0

    @property
    def launch_template_key(self) -> str | None:
        """The key of the launch template batchform creates for this CE, if it uses one."""
        return self.launch_template if isinstance(self.launch_template, str) else None

    @property
    def existing_launch_template(self) -> ExistingLaunchTemplate | None:
        """The existing launch template this CE uses, if any."""
        lt = self.launch_template
        return lt if isinstance(lt, ExistingLaunchTemplate) else None


# --- scheduling and queues -------------------------------------------------------------------


class Share(Strict):
    identifier: Str
    weight: float = 1.0


class SchedulingPolicy(AwsNamed, ResourceTags):
    share_decay: Duration = 0
    compute_reservation: int = 0
    shares: list[Share] = []


class TimeLimitAction(Strict):
    reason: str
    after: Duration
    action: Literal["CANCEL"] = "CANCEL"
    state: Literal["RUNNABLE"] = "RUNNABLE"


class JobQueue(AwsNamed, ResourceTags):
    priority: int
    compute_environments: list[Key] = Field(min_length=1)
    scheduling_policy: Key | None = None
    state: State = "ENABLED"
    time_limit_actions: list[TimeLimitAction] = []


# --- job definitions -------------------------------------------------------------------------


class RetryRule(Strict):
    action: Literal["RETRY", "EXIT"]
    exit_code: Str | None = None
    reason: str | None = None
    status_reason: str | None = None


class Retry(Strict):
    attempts: int = 1
    on_exit: list[RetryRule] = []


class Volume(Strict):
    container_path: str
    host_path: str | None = None
    efs: str | None = None  # file system id
    read_only: bool = False
    access_point: str | None = None
    root_directory: str | None = None
    transit_encryption: bool | None = None  # default: on whenever access point / IAM is used
    iam: bool = False

    @model_validator(mode="after")
    def _one(self) -> Volume:
        _exactly_one(self, ("host_path", "efs"), "a volume")
        return self


class JobRole(Strict):
    arn: str | None = None
    s3_read: list[str] = []
    s3_write: list[str] = []
    kms_keys: list[str] = []  # customer-managed keys of SSE-KMS buckets (and other data)
    managed_policies: list[str] = []  # policy ARNs attached to the generated role

    @model_validator(mode="after")
    def _shape(self) -> JobRole:
        generated_from = self.s3_read or self.s3_write or self.kms_keys or self.managed_policies
        if self.arn is not None and generated_from:
            raise ValueError(
                "a job role is either `arn: ...` or generated from s3_read/s3_write/kms_keys/"
                "managed_policies"
            )
        if self.arn is None and not generated_from:
            raise ValueError(
                "a job role needs `arn`, or at least one bucket in s3_read/s3_write or a "
                "policy in managed_policies"
            )
        return self


# Container options (second release). One class, so that a job definition, a node range of a
# multi-node job and each container of a multi-container job take the same keys with the same
# meaning; :func:`batchform.derive.container_options` maps them to the API's camelCase.

UlimitName = Literal[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
]
DevicePermission = Literal["read", "write", "mknod"]
LogDriver = Literal["awslogs", "splunk", "fluentd", "gelf", "json-file", "journald", "syslog"]
Architecture = Literal["X86_64", "ARM64"]


class Tmpfs(Strict):
    """``linuxParameters.tmpfs`` entry (EC2 only)."""

    container_path: str
    size: MemoryMiB
    mount_options: list[str] = []


class Device(Strict):
    """``linuxParameters.devices`` entry (EC2 only); the container path defaults to the host's."""

    host_path: str
    container_path: str | None = None
    permissions: list[DevicePermission] = []


class Swap(Strict):
    """``linuxParameters.maxSwap`` / ``swappiness`` (EC2 only)."""

    max: MemoryMiB
    swappiness: int | None = None


class Ulimit(Strict):
    soft: int
    hard: int


class LogConfig(Strict):
    """``logConfiguration``; omitted: awslogs into the log group batchform generates."""

    driver: LogDriver = "awslogs"
    options: dict[str, Str] = {}
    secret_options: dict[str, str] = {}


class ContainerOptions(Strict):
    """Keys of one container, beside image, command and resources (docs/environment.md)."""

    user: Str | None = None  # containerProperties.user
    readonly_root_filesystem: bool | None = None
    init_process: bool | None = None  # linuxParameters.initProcessEnabled
    shared_memory: MemoryMiB | None = None  # linuxParameters.sharedMemorySize (EC2 only)
    tmpfs: list[Tmpfs] = []
    devices: list[Device] = []
    swap: Swap | None = None
    ulimits: dict[UlimitName, Ulimit] = {}
    log: LogConfig | None = None
    architecture: Architecture | None = None  # Fargate: runtimePlatform; EC2: instance types
    execute_command: bool | None = None  # ECS Exec (enableExecuteCommand)


# Multi-node parallel jobs, multi-container (ECS) jobs and jobs on EKS (second release). A node
# range and an ECS container take every container key (ContainerOptions) with the same meaning;
# batchform.derive builds nodeProperties / ecsProperties / eksProperties from them.

DependencyCondition = Literal["START", "COMPLETE", "SUCCESS", "HEALTHY"]


class NodeRange(ContainerOptions):
    """One ``nodeRangeProperties`` entry: ``nodes`` is ``"0"``, ``"1:"``, ``"2:5"`` or ``":3"``
    (AWS's ``targetNodes``); every other key overrides the job-level key of the same name,
    which is the default of every range (maps such as ``environment`` merge key by key)."""

    nodes: Str
    image: str | None = None
    command: list[Str] | None = None
    vcpus: float | None = None
    memory: MemoryMiB | None = None
    gpus: int | None = None
    environment: dict[str, Str] = {}
    secrets: dict[str, str] = {}


class Nodes(Strict):
    """``nodeProperties`` of a multi-node parallel job."""

    count: int  # numNodes
    main: int = 0  # mainNode
    ranges: list[NodeRange] = Field(min_length=1)


class EcsContainer(ContainerOptions):
    """One container of a multi-container job (``ecsProperties.taskProperties[0].containers``).
    Its name is its key under ``containers``."""

    image: str
    command: list[Str] = []
    vcpus: float
    memory: MemoryMiB
    gpus: int = 0
    environment: dict[str, Str] = {}
    secrets: dict[str, str] = {}
    essential: bool = True  # ECS's default: the task stops when an essential container stops
    depends_on: dict[Key, DependencyCondition] = {}


JOB_CONTAINER_KEYS = ("image", "vcpus", "memory")
"""Keys a job needs at its own level unless its containers live in ``nodes`` ranges or under
``containers``."""


class JobSettings(Strict):
    """Keys that may appear under ``job_defaults`` as well as in each job definition."""

    retry: Retry | None = None
    timeout: Duration | None = None
    log_retention_days: int | None = None
    log_kms_key: str | None = None  # KMS key ARN that encrypts the job's log group
    propagate_tags: bool | None = None
    environment: dict[str, Str] | None = None
    platform: Literal["EC2", "FARGATE", "EKS"] | None = None
    privileged: bool | None = None
    assign_public_ip: bool | None = None
    platform_version: str | None = None
    tags: dict[Str, Str] | None = None


class JobDefaults(JobSettings):
    pass


class JobDefinition(JobSettings, ContainerOptions, AwsNamed):
    # required (a missing key is BF102) unless the job's containers are in `nodes` ranges or
    # under `containers` (see _plain_job_needs_container_keys)
    image: str | None = None
    command: list[Str] = []
    parameters: dict[str, Str] = {}
    vcpus: float | None = None
    memory: MemoryMiB | None = None
    gpus: int = 0
    secrets: dict[str, str] = {}
    volumes: list[Volume] = []
    job_role: JobRole | None = None
    ephemeral_storage: DiskGiB | None = None
    # Fair-share queues order jobs by it (higher first); aws_batch_job_definition
    # scheduling_priority. 0-9999 (RegisterJobDefinition).
    scheduling_priority: Annotated[int, Field(ge=0, le=9999)] | None = None
    # Container options (second release): keep the revisions an update supersedes ACTIVE
    # (aws_batch_job_definition deregister_on_new_revision = false); default: the provider
    # deregisters the previous revision, as it always did.
    keep_old_revisions: bool = False
    # --- multi-node, multi-container and EKS (second release) ---
    type: Literal["container", "multinode"] = "container"
    nodes: Nodes | None = None  # type: multinode
    containers: dict[Key, EcsContainer] | None = None  # ecsProperties: several containers
    service_account: str | None = None  # platform: EKS; the pod's Kubernetes service account

    @model_validator(mode="wrap")
    @classmethod
    def _plain_job_needs_container_keys(
        cls, data: Any, handler: ModelWrapValidatorHandler[JobDefinition]
    ) -> JobDefinition:
        """A job with one container (no ``nodes`` ranges, no ``containers``) needs its image,
        vCPUs and memory at its own level, as it always did; the others take them per range or
        per container (checked there, BF559, or by the container's own required keys)."""
        spread = isinstance(data, Mapping) and (
            data.get("type") == "multinode"
            or data.get("nodes") is not None
            or data.get("containers") is not None
        )
        return _require_keys(cls, data, handler, () if spread else JOB_CONTAINER_KEYS)

    @property
    def is_multinode(self) -> bool:
        return self.type == "multinode" or self.nodes is not None

    @property
    def is_multi_container(self) -> bool:
        return self.containers is not None

    @property
    def all_secrets(self) -> dict[str, str]:
        """Secrets of every container the job runs (its own, its node ranges', its
        containers'), by name: what the execution role must be able to read."""
        found = dict(self.secrets)
        for rng in self.nodes.ranges if self.nodes is not None else []:
            found.update(rng.secrets)
        for container in (self.containers or {}).values():
            found.update(container.secrets)
        return found

    @property
    def all_log_secret_options(self) -> dict[str, str]:
        """``log.secret_options`` of every container the job runs (its own, its node ranges',
        its containers'), by name: the ECS agent reads them with the execution role too."""
        found: dict[str, str] = {}
        ranges = self.nodes.ranges if self.nodes is not None else []
        for opts in [self, *ranges, *(self.containers or {}).values()]:
            if opts.log is not None:
                found.update(opts.log.secret_options)
        return found


MERGED_DICT_SETTINGS = ("environment", "tags")
JOB_SETTING_DEFAULTS: dict[str, Any] = {
    "platform": "EC2",
    "privileged": False,
    "propagate_tags": False,
    "log_retention_days": 30,
}


def effective_job(defaults: JobDefaults, job: JobDefinition) -> JobDefinition:
    """``job`` with ``job_defaults`` merged under it: the job's own keys win, maps merge key by
    key, and anything neither sets takes the format's default."""
    updates: dict[str, Any] = {}
    for name in JobSettings.model_fields:
        own = getattr(job, name)
        inherited = getattr(defaults, name)
        if name in MERGED_DICT_SETTINGS:
            merged = {**(inherited or {}), **(own or {})}
            updates[name] = merged
        elif own is None:
            updates[name] = inherited if inherited is not None else JOB_SETTING_DEFAULTS.get(name)
    return job.model_copy(update=updates)


# --- operations: schedules and alerts -------------------------------------------------------


class Schedule(AwsNamed):
    """An EventBridge Scheduler schedule that submits one job definition to one queue.

    Its name follows Scheduler's rules (BF568); a schedule takes no tags (CreateSchedule has
    no Tags parameter), so ``tags`` is not a key here."""

    job_definition: Key
    queue: Key
    cron: str | None = None  # EventBridge cron: "0 2 * * ? *" (six fields)
    rate: str | None = None  # "1 day", "15 minutes"
    timezone: str = "UTC"
    parameters: dict[str, Str] = {}
    share_identifier: Str | None = None
    array_size: int | None = None
    attempts: int | None = None
    state: State = "ENABLED"

    @model_validator(mode="after")
    def _one(self) -> Schedule:
        _exactly_one(self, ("cron", "rate"), "a schedule")
        return self


AlertEvent = Literal["job_failed", "queue_blocked", "compute_environment_invalid"]
ALERT_EVENTS: tuple[str, ...] = typing.get_args(AlertEvent)


class Alerts(Strict):
    """EventBridge rules for Batch events of this environment, into one SNS topic."""

    email: list[str] = []
    topic_arn: str | None = None
    on: list[AlertEvent] = Field(min_length=1)

    @model_validator(mode="after")
    def _destination(self) -> Alerts:
        if bool(self.email) == (self.topic_arn is not None):
            raise ValueError(
                "alerts need exactly one of `email` (batchform creates the topic) or "
                "`topic_arn` (an existing topic)"
            )
        return self


# --- the environment -------------------------------------------------------------------------


class Environment(Strict):
    extends: str | None = Field(
        None,
        description="Path of a base environment file, relative to this one: this file is laid "
        "over it (mappings merge, lists and scalars replace, null removes). Resolved by the "
        "loader (compiler/batchform/overlay.py) before the model is built, so never set here.",
    )
    version: Literal[1]
    name: Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
    region: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$")]
    tags: dict[Str, Str] = {}
    ignore: list[str] = []
    terraform: TerraformSettings = TerraformSettings()
    network: Network
    amis: dict[Key, Ami] = {}
    launch_templates: dict[Key, LaunchTemplate] = {}
    iam: Iam = Iam()
    compute_environments: dict[Key, ComputeEnvironment] = {}
    scheduling_policies: dict[Key, SchedulingPolicy] = {}
    job_queues: dict[Key, JobQueue] = {}
    job_defaults: JobDefaults = JobDefaults()
    job_definitions: dict[Key, JobDefinition] = {}
    schedules: dict[Key, Schedule] = {}
    alerts: Alerts | None = None

    _merged_jobs: Mapping[str, JobDefinition] = PrivateAttr()
    _derived: dict[str, Any] = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        """Merge ``job_defaults`` into every job definition once, when the model is validated.

        Why here: checks, plan modules and templates ask for the same merged job ~27 times
        (benchmarks/README.md), and the model is frozen, so the merge is a value derived from
        fields that never change, not a cache that fills up while the stages run.
        """
        defaults = self.job_defaults
        self._merged_jobs = {k: effective_job(defaults, j) for k, j in self.job_definitions.items()}
        self._derived = {}

    def derived(self, name: str, compute: Callable[[Environment], _D]) -> _D:
        """``compute(self)``, once per environment: for a value a later stage derives from the
        whole file and asks for many times (the checks' list of every container, walked by
        each container rule). It lives and dies with this object, never in a module global, and
        a copy starts empty (:meth:`model_copy`). ``name`` must say what ``compute`` computes:
        one name, one function."""
        if name not in self._derived:
            self._derived[name] = compute(self)
        value: _D = self._derived[name]
        return value

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy (pydantic does not validate it) whose derived values follow its fields:
        ``update={"job_definitions": ...}`` must not keep the original's merged jobs."""
        copy = super().model_copy(update=update, deep=deep)
        copy.model_post_init(None)
        return copy

    def job(self, key: str) -> JobDefinition:
        """A job definition with ``job_defaults`` merged in (see :meth:`model_post_init`).

        Reads pydantic's private-attribute dict directly: ``self._merged_jobs`` goes through
        ``BaseModel.__getattr__``, ~25x slower, and this is called ~27 times per job
        definition (measured: +0.5 s of CPU for a 5000-job compile).
        """
        private = self.__pydantic_private__
        assert private is not None
        merged: Mapping[str, JobDefinition] = private["_merged_jobs"]
        return merged[key]

    def ce_security_groups(self, key: str) -> list[str]:
        """Keys (and ids of existing groups) a compute environment uses: its own list, else
        every group under ``network.security_groups``, else batchform's default group."""
        ce = self.compute_environments[key]
        if ce.is_unmanaged:
            return []  # its instances are launched by its owner, with their own groups
        if ce.security_groups is not None:
            return list(ce.security_groups)
        if self.network.security_groups:
            return sorted(self.network.security_groups)
        return [DEFAULT_SECURITY_GROUP_KEY]

    def security_group_definitions(self) -> dict[str, SecurityGroup]:
        """The security groups batchform creates, by key.

        With no ``network.security_groups`` a file still works: batchform then creates one
        group, ``<name>-batch`` (all outbound traffic, nothing inbound: instances and tasks only
        call out, to ECR, ECS, CloudWatch Logs and S3), whenever a compute environment uses it.
        """
        if self.network.security_groups:
            return dict(self.network.security_groups)
        used = any(
            DEFAULT_SECURITY_GROUP_KEY in self.ce_security_groups(k)
            for k in self.compute_environments
        )
        if not used:
            return {}
        description = f"batchform {self.name}: Batch compute, outbound only"
        return {DEFAULT_SECURITY_GROUP_KEY: SecurityGroup(description=description)}


# --- schema errors -> located diagnostics ----------------------------------------------------

# CODE_UNKNOWN_KEY (BF101), CODE_MISSING_KEY (BF102), CODE_INVALID_VALUE (BF103):
# compiler/batchform/codes.py


def _actual_path(raw: Any, loc: tuple[Any, ...]) -> Path:
    """Keep only the parts of a pydantic location that exist in the document (pydantic adds
    union member names such as ``list[SecurityGroupRule]`` and validator tags). A missing key
    is kept as the last part so that the diagnostic names it."""
    path: list[str | int] = []
    node = raw
    for part in loc:
        in_mapping = isinstance(node, Mapping) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_mapping or in_list:
            path.append(part)
            node = node[part]
        elif isinstance(node, Mapping) and isinstance(part, str) and part.isidentifier():
            path.append(part)  # a missing key
            node = None
    return tuple(path)


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that owns the mapping at pydantic location ``loc``."""
    current: Any = Environment
    for part in loc:
        if isinstance(part, int):
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                continue
            current = field.annotation
        else:
            # dict[Key, Model] keys, list[Model] items, Optional / unions
            current = _first_model(current)
            if current is None:
                return None
            field = current.model_fields.get(str(part))
            current = field.annotation if field else current
    return _first_model(current)


def _first_model(tp: Any) -> type[BaseModel] | None:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    for arg in typing.get_args(tp):
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def _unknown_key_hint(loc: tuple[Any, ...], key: str) -> str | None:
    owner = _model_at(loc[:-1])
    if owner is None:
        return None
    fields = list(owner.model_fields)
    close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "valid keys here: " + ", ".join(fields)


def schema_diagnostics(exc: ValidationError, raw: Any) -> list[Diagnostic]:
    """Turn pydantic's errors into diagnostics with document paths (deduplicated).

    A value that fails a union (``egress: all | none | [rules]``) yields one error per member;
    when one of them points deeper into the value, that is the user's real mistake and the
    others are dropped; when all stand at the same place, the first one is kept.
    """
    located: list[tuple[Path, dict[str, Any]]] = [
        (_actual_path(raw, tuple(e["loc"])), dict(e)) for e in exc.errors(include_url=False)
    ]
    paths = {path for path, _ in located}
    out: dict[tuple[Path, str], Diagnostic] = {}
    seen_union_at: set[Path] = set()
    for path, err in located:
        loc = tuple(err["loc"])
        member = any(isinstance(p, str) and not p.isidentifier() for p in loc)
        if member:
            deeper = any(len(q) > len(path) and q[: len(path)] == path for q in paths)
            if deeper and err["type"] != "extra_forbidden" and _deepest(err, path):
                continue
            if path in seen_union_at and err["type"] != "extra_forbidden":
                continue
            seen_union_at.add(path)
        diag = _one_schema_diagnostic(err, path)
        out.setdefault((path, diag.message), diag)
    return list(out.values())


def _deepest(err: dict[str, Any], path: Path) -> bool:
    """True when ``err`` is a union member's complaint about the value as a whole."""
    return err["type"] in {"literal_error", "list_type", "dict_type", "string_type", "model_type"}


def _one_schema_diagnostic(err: dict[str, Any], path: Path) -> Diagnostic:
    kind = err["type"]
    loc = tuple(err["loc"])
    where = format_path(path) or "the top level"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        return Diagnostic(
            CODE_UNKNOWN_KEY,
            Level.ERROR,
            f"unknown key '{key}'",
            path=path,
            hint=_unknown_key_hint(loc, key),
        )
    if kind == "missing":
        return Diagnostic(
            CODE_MISSING_KEY,
            Level.ERROR,
            f"missing required key '{loc[-1]}'",
            path=path[:-1] if path and path[-1] == loc[-1] else path,
        )
    special = _value_kind_diagnostic(err, path, where)
    if special is not None:
        return special
    message = str(err["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    hint = None
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected")
        hint = f"allowed values: {expected}" if expected else None
        message = f"{where}: invalid value {err.get('input')!r}"
    elif kind == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern")
        message = f"{where}: {err.get('input')!r} does not match {pattern}"
        if pattern == KEY_PATTERN:
            hint = "keys are 1-32 lowercase letters, digits and '-', starting with a letter"
        elif pattern == NAME_PATTERN:
            hint = "names are 2-28 lowercase letters, digits and '-', starting with a letter"
    elif path and kind != "value_error":
        message = f"{where}: {message[0].lower()}{message[1:]}"
    return Diagnostic(CODE_INVALID_VALUE, Level.ERROR, message, path=path, hint=hint)


def _value_kind_diagnostic(err: dict[str, Any], path: Path, where: str) -> Diagnostic | None:
    """Booleans and nulls where the format wants a number or text: YAML reads ``yes``, ``on``
    and ``~`` as something else than the user may have meant, so say what it was read as."""
    value = err.get("input")
    if isinstance(value, NotANumber):
        return Diagnostic(
            CODE_INVALID_VALUE,
            Level.ERROR,
            f"{where}: expected a number, found the boolean {value!r}",
            path=path,
            hint="write a number; YAML reads true/false, yes/no and on/off as booleans",
        )
    if err["type"] != "string_type":
        return None
    if isinstance(value, bool):
        found = f"the boolean {str(value).lower()}"
        hint = 'quote it ("yes", "on", "true") to use it as text'
    elif value is None:
        found = "null (nothing, `~` or `null`)"
        hint = 'write "" for empty text, or quote "null" to use the word'
    else:
        return None
    return Diagnostic(
        CODE_INVALID_VALUE,
        Level.ERROR,
        f"{where}: expected text, found {found}",
        path=path,
        hint=hint,
    )


def parse_environment(raw: Any) -> tuple[Environment | None, list[Diagnostic]]:
    """Validate raw data; returns the model, or ``None`` and the schema diagnostics."""
    try:
        return Environment.model_validate(raw), []
    except ValidationError as exc:
        return None, schema_diagnostics(exc, raw)

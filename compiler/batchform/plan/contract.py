"""The contract between the plan and everything that reads it: one type per file and per entry.

The plan (:mod:`batchform.plan`) turns an :class:`~batchform.model.Environment` into one context
per generated file; four consumers read those contexts by key: the templates
(``templates/<file>.j2``), the verifier (:mod:`batchform.verify.desired` and the checks it feeds),
``batchform diff`` (:mod:`batchform.diff`) and the benchmarks (``benchmarks/bench.py``). Every
context and every resource entry in it is a :class:`~typing.TypedDict` declared here, so that
mypy sees each key where it is written and where it is read, and renaming one is a type error
instead of a failure at run time.

TypedDicts, not dataclasses: at run time the contexts stay plain dicts, so the templates, the
``hcl`` filter and diff's generic walk over resource entries (:func:`file_contexts`) work on them
unchanged, and insertion order (which decides argument order in blocks a template writes with
``.items()``) is kept. ``tests/test_contract.py`` proves each template reads only keys its type
declares and that every declared key is read by the template or by a consumer it names.

Conventions: ``label`` is the Terraform resource label, ``name`` the AWS name, ``tags`` the
resource's own tags (the provider's ``default_tags`` come on top). A value of type :data:`Ref`
is either a Terraform reference the plan means (:class:`~batchform.hcl.Expr`, written verbatim)
or a literal id or ARN the file gave.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict, cast

from batchform.hcl import Expr

Ref = Expr | str
"""A Terraform reference to a generated resource, or an existing id/ARN given in the file."""

Tags = dict[str, str]
"""A resource's own tags, sorted by key."""

JsonObject = dict[str, Any]
"""A JSON document written with ``jsonencode`` (IAM policies, container properties, an event
pattern, a SubmitJob request). Free-form by nature: its shape is the AWS API's, documented by
AWS, not a contract of batchform's; values may hold :class:`~batchform.hcl.Expr` references."""


# --- versions.tf, providers.tf (compiler/batchform/plan/common.py)
# --------------------------------------


class S3BackendEntry(TypedDict):
    """``backend "s3"`` of versions.tf.j2 (written with ``.items()``, in this order)."""

    bucket: str
    key: str
    region: str
    encrypt: bool
    dynamodb_table: NotRequired[str]
    use_lockfile: NotRequired[bool]


class VersionsContext(TypedDict):
    """versions.tf.j2: the ``terraform`` block."""

    required_version: str
    aws_provider: str
    backend: S3BackendEntry | None


class ProvidersContext(TypedDict):
    """providers.tf.j2: the ``aws`` provider."""

    region: str
    default_tags: Tags


# --- network.tf (compiler/batchform/plan/network.py)
# ----------------------------------------------------


class VpcEntry(TypedDict):
    """``aws_vpc.main`` in network.tf.j2; diff compares it as a singleton."""

    cidr: str
    tags: Tags


class TagsOnlyEntry(TypedDict):
    """``aws_internet_gateway.main`` / ``aws_default_security_group.main`` in network.tf.j2;
    diff compares them as singletons, verify lists the default group with the others."""

    tags: Tags


class SubnetEntry(TypedDict):
    """``aws_subnet`` in network.tf.j2; verify (``check_subnets``, ``live.bind``) and diff."""

    label: str
    cidr: str
    az: str
    map_public_ip_on_launch: bool
    tags: Tags


class NatGatewayEntry(TypedDict):
    """``aws_eip`` + ``aws_nat_gateway`` in network.tf.j2; diff."""

    label: str
    eip_label: str
    allocation_id: Expr
    subnet_id: Expr
    tags: Tags


class RouteTableEntry(TypedDict):
    """``aws_route_table`` in network.tf.j2; diff."""

    label: str
    tags: Tags


class RouteEntry(TypedDict):
    """``aws_route`` in network.tf.j2 (``target`` is the argument name); diff."""

    label: str
    route_table_id: Expr
    target: Literal["gateway_id", "nat_gateway_id"]
    target_id: Expr


class AssociationEntry(TypedDict):
    """``aws_route_table_association`` in network.tf.j2; diff."""

    label: str
    subnet_id: Expr
    route_table_id: Expr


class EndpointEntry(TypedDict):
    """``aws_vpc_endpoint`` in network.tf.j2; verify (``check_endpoints``) and diff. A gateway
    endpoint has ``route_table_ids``, an interface endpoint the other three optional keys."""

    label: str
    service_name: str
    type: Literal["Gateway", "Interface"]
    route_table_ids: NotRequired[list[Expr]]
    subnet_ids: NotRequired[list[Ref]]
    security_group_ids: NotRequired[list[Ref]]
    private_dns_enabled: NotRequired[bool]
    tags: Tags


class SecurityGroupEntry(TypedDict):
    """``aws_security_group`` in security_groups.tf.j2 and efs.tf.j2; verify
    (``check_security_groups``, ``live.bind``) and diff."""

    label: str
    name: str
    description: str
    vpc_id: Ref
    tags: Tags


class EndpointIngressEntry(TypedDict):
    """The HTTPS rule of the VPC endpoints' group in network.tf.j2; verify compares it with the
    group's live rules."""

    label: str
    security_group_id: Ref
    description: str
    ip_protocol: str
    from_port: int
    to_port: int
    cidr_ipv4: Expr
    tags: Tags


class EndpointSecurityGroupEntry(SecurityGroupEntry):
    """The VPC endpoints' security group and its HTTPS rule in network.tf.j2; verify."""

    ingress: EndpointIngressEntry


class SecondaryCidrRuleEntry(TypedDict):
    """The ``for_each`` HTTPS rule per secondary CIDR block of an existing VPC (network.tf.j2)."""

    label: str
    cidrs: Expr
    description: str
    tags: Tags


class ExistingVpcLookupEntry(TypedDict):
    """``data "aws_vpc" "main"`` in network.tf.j2, for an existing VPC with interface endpoints;
    verify adds the secondary-CIDR rule to the endpoints' group when it is there."""

    id: Ref
    dns_error: str
    secondary: SecondaryCidrRuleEntry


class NetworkContext(TypedDict):
    """network.tf.j2; verify (``Desired.network_file``) and diff (``KINDS``)."""

    vpc_id_ref: Ref
    vpc: VpcEntry | None
    internet_gateway: TagsOnlyEntry | None
    default_security_group: TagsOnlyEntry | None
    subnets: list[SubnetEntry]
    nat_gateways: list[NatGatewayEntry]
    route_tables: list[RouteTableEntry]
    routes: list[RouteEntry]
    associations: list[AssociationEntry]
    endpoints: list[EndpointEntry]
    endpoint_security_group: EndpointSecurityGroupEntry | None
    existing_vpc_lookup: ExistingVpcLookupEntry | None


# --- security_groups.tf (compiler/batchform/plan/network.py)
# --------------------------------------------


class RulePeerEntry(TypedDict, total=False):
    """The one peer argument of a rule (security_groups.tf.j2 writes it with ``.items()``)."""

    cidr_ipv4: str
    cidr_ipv6: str
    referenced_security_group_id: Ref


class SecurityGroupRuleEntry(TypedDict):
    """``aws_vpc_security_group_{ingress,egress}_rule`` in security_groups.tf.j2; verify
    (``Desired.security_group_rules``, which also brings the EFS and endpoint rules to this
    shape) and diff. Ports are ``None`` for ``all`` traffic."""

    label: str
    security_group_id: Ref
    description: str
    ip_protocol: str
    from_port: int | None
    to_port: int | None
    peer: RulePeerEntry
    tags: Tags


class SecurityGroupsContext(TypedDict):
    """security_groups.tf.j2; verify and diff."""

    security_groups: list[SecurityGroupEntry]
    ingress_rules: list[SecurityGroupRuleEntry]
    egress_rules: list[SecurityGroupRuleEntry]


# --- efs.tf (compiler/batchform/plan/efs.py)
# -------------------------------------------------------------


class NfsRuleEntry(TypedDict):
    """An NFS rule between the compute groups and the mount targets' group (efs.tf.j2: always
    TCP, ``peer`` is the other group); verify and diff."""

    label: str
    security_group_id: Ref
    description: str
    from_port: int
    to_port: int
    peer: Ref
    tags: Tags


class MountTargetEntry(TypedDict):
    """``aws_efs_mount_target`` in efs.tf.j2; verify (``check_mount_targets``) and diff."""

    label: str
    file_system_id: str
    subnet_id: Expr
    security_groups: list[Ref]


class EfsContext(TypedDict):
    """efs.tf.j2; verify and diff."""

    security_groups: list[SecurityGroupEntry]
    ingress_rules: list[NfsRuleEntry]
    egress_rules: list[NfsRuleEntry]
    mount_targets: list[MountTargetEntry]


# --- iam.tf (compiler/batchform/plan/iam.py)
# -------------------------------------------------------------


class InlinePolicyEntry(TypedDict):
    """``aws_iam_role_policy`` in iam.tf.j2; verify (``check_roles``, ``role_reads``)."""

    label: str
    name: str
    policy: JsonObject


class InstanceProfileEntry(TypedDict):
    """``aws_iam_instance_profile`` in iam.tf.j2; verify (``check_instance_profile``)."""

    label: str
    name: str
    path: str | None
    role: Expr
    tags: Tags


class PolicyAttachmentEntry(TypedDict):
    """A managed policy the file attaches to a generated role (``iam.instance_role``
    ``managed_policies``, ``job_role.managed_policies``) in iam.tf.j2; verify."""

    label: str
    policy_arn: str


class RoleEntry(TypedDict):
    """``aws_iam_role`` and its attachment, inline policies and instance profile in iam.tf.j2;
    verify (``check_roles``, ``role_reads``, ``live.bind``) and diff."""

    label: str
    name: str
    description: str
    assume_role_policy: JsonObject
    managed_policy_arn: Expr | None
    inline_policies: list[InlinePolicyEntry]
    role_name_ref: Expr
    policies_replaced_with: list[Expr]
    """``replace_triggered_by`` of the role's attachments and inline policies: its
    ``unique_id``, which only a replacement renews. The provider's delete of a role detaches and
    deletes its policies (``deleteRole`` in internal/service/iam/role.go: IAM deletes no role
    that has any), while they name the role by its name, which a role replaced under its name
    (a new ``iam.path``) keeps: without the trigger Terraform plans them unchanged and the new
    role would come back without them."""
    instance_profile: InstanceProfileEntry | None
    tags: Tags
    path: str | None
    """``iam.path``; None leaves AWS's ``/``."""
    permissions_boundary: str | None
    """``iam.permissions_boundary``, on every generated role."""
    managed_policy_attachments: list[PolicyAttachmentEntry]


class IamContext(TypedDict):
    """iam.tf.j2; verify (``Desired.roles``) and diff."""

    roles: list[RoleEntry]
    caller_identity: bool


# --- launch_templates.tf (compiler/batchform/plan/compute.py)
# -------------------------------------------


class EbsEntry(TypedDict):
    """The ``ebs`` block of a block device mapping (launch_templates.tf.j2 writes it with
    ``.items()``, in this order); verify (``check_launch_templates``)."""

    delete_on_termination: bool
    encrypted: bool
    iops: NotRequired[int]
    throughput: NotRequired[int]
    volume_size: int
    volume_type: str


class BlockDeviceMappingEntry(TypedDict):
    """A ``block_device_mappings`` block in launch_templates.tf.j2; verify."""

    device_name: str
    ebs: EbsEntry


class MetadataOptionsEntry(TypedDict):
    """``metadata_options`` (IMDS) in launch_templates.tf.j2 (``.items()``); verify."""

    http_endpoint: str
    http_put_response_hop_limit: int
    http_tokens: str


class TagSpecificationEntry(TypedDict):
    """A ``tag_specifications`` block in launch_templates.tf.j2."""

    resource_type: str
    tags: Tags


class LaunchTemplateEntry(TypedDict):
    """``aws_launch_template`` in launch_templates.tf.j2; verify (``check_launch_templates``,
    ``live.bind``) and diff."""

    label: str
    name: str
    user_data: str | None
    block_device_mappings: list[BlockDeviceMappingEntry]
    metadata_options: MetadataOptionsEntry
    tag_specifications: list[TagSpecificationEntry]
    tags: Tags


class LaunchTemplatesContext(TypedDict):
    """launch_templates.tf.j2; verify and diff."""

    launch_templates: list[LaunchTemplateEntry]


# --- compute_environments.tf (compiler/batchform/plan/compute.py)
# ---------------------------------------


class SsmAmiEntry(TypedDict):
    """``data "aws_ssm_parameter"`` of an AMI in compute_environments.tf.j2; verify (reads the
    parameter) and diff (a new name re-resolves the AMI)."""

    label: str
    name: str


class PlacementGroupEntry(TypedDict):
    """``aws_placement_group`` in compute_environments.tf.j2; verify (``live.bind``) and diff."""

    label: str
    name: str
    strategy: str
    tags: Tags


class ComputeResourcesAttrs(TypedDict, total=False):
    """The arguments of ``compute_resources`` (compute_environments.tf.j2 writes them with
    ``.items()``, in insertion order, which is why no key is declared required: the plan adds
    them one by one); verify compares each and diff decides replacements from them. Always
    present: ``type``, ``max_vcpus``, ``subnets``, ``security_group_ids``; a Fargate CE has only
    those."""

    type: str
    allocation_strategy: str
    bid_percentage: int
    min_vcpus: int
    max_vcpus: int
    instance_type: list[str]
    instance_role: Ref
    spot_iam_fleet_role: Ref
    ec2_key_pair: str
    placement_group: Ref
    subnets: list[Ref]
    security_group_ids: list[Ref]
    tags: Tags


class LaunchTemplateSpecEntry(TypedDict):
    """``compute_resources.launch_template`` (``.items()``, in this order); verify and diff.
    A template batchform creates: its id and ``latest_version`` (``Expr``); an existing one:
    its id or name and the version the file pins (text)."""

    launch_template_id: NotRequired[Ref]
    launch_template_name: NotRequired[str]
    version: Ref


class Ec2ConfigurationEntry(TypedDict):
    """One ``ec2_configuration`` block (``.items()``); verify and the generated README."""

    image_type: str
    image_id_override: NotRequired[Ref]


class ComputeResourcesEntry(TypedDict):
    """The ``compute_resources`` block of a compute environment; verify and diff."""

    attrs: ComputeResourcesAttrs
    launch_template: LaunchTemplateSpecEntry | None
    ec2_configuration: list[Ec2ConfigurationEntry]


class UpdatePolicyEntry(TypedDict):
    """``update_policy`` (``.items()``, in this order); verify and diff's notes."""

    job_execution_timeout_minutes: int
    terminate_jobs_on_update: bool


class EksConfigurationEntry(TypedDict):
    """``eks_configuration`` (``.items()``, in this order) of an EKS compute environment;
    verify and diff (both arguments force a new CE)."""

    eks_cluster_arn: str
    kubernetes_namespace: str


class ComputeEnvironmentEntry(TypedDict):
    """``aws_batch_compute_environment`` in compute_environments.tf.j2; verify
    (``check_compute_environment``, ``candidates``, ``live.bind``) and diff (replacement rules
    and notes). ``compute_resources`` is ``None`` for an UNMANAGED CE (``type``)."""

    label: str
    name: str | None
    """The exact name (``aws_name``); then no ``name_prefix`` and no create_before_destroy."""
    name_prefix: str | None
    type: str
    state: str
    service_role: Ref | None
    compute_resources: ComputeResourcesEntry | None
    eks_configuration: EksConfigurationEntry | None
    update_policy: UpdatePolicyEntry | None
    tags: Tags
    depends_on: list[Expr]
    replace_triggered_by: list[Expr]


class ComputeEnvironmentsContext(TypedDict):
    """compute_environments.tf.j2; verify and diff."""

    name_prefix_argument: str
    """``compute_environment_name_prefix`` (provider 5) or ``name_prefix`` (provider 6):
    compiler/batchform/requirements.py ``argument_name``."""
    name_argument: str
    """``compute_environment_name`` (provider 5) or ``name`` (provider 6), for an exact name."""
    ssm_amis: list[SsmAmiEntry]
    placement_groups: list[PlacementGroupEntry]
    compute_environments: list[ComputeEnvironmentEntry]


# --- scheduling_policies.tf, job_queues.tf, job_definitions.tf, logs.tf
# (compiler/batchform/plan/jobs.py)


class ShareEntry(TypedDict):
    """A ``share_distribution`` block in scheduling_policies.tf.j2; verify."""

    share_identifier: str
    weight_factor: float


class SchedulingPolicyEntry(TypedDict):
    """``aws_batch_scheduling_policy`` in scheduling_policies.tf.j2; verify
    (``check_scheduling_policy``, ``live.bind``) and diff."""

    label: str
    name: str
    compute_reservation: int
    share_decay_seconds: int
    shares: list[ShareEntry]
    tags: Tags


class SchedulingPoliciesContext(TypedDict):
    """scheduling_policies.tf.j2; verify and diff."""

    policies: list[SchedulingPolicyEntry]


class ComputeEnvironmentOrderEntry(TypedDict):
    """A ``compute_environment_order`` block in job_queues.tf.j2; verify and diff's notes."""

    order: int
    compute_environment: Expr


class TimeLimitActionEntry(TypedDict):
    """A ``job_state_time_limit_action`` block in job_queues.tf.j2; verify."""

    action: str
    max_time_seconds: int
    reason: str
    state: str


class JobQueueEntry(TypedDict):
    """``aws_batch_job_queue`` in job_queues.tf.j2; verify (``check_job_queue``) and diff."""

    label: str
    name: str
    state: str
    priority: int
    compute_environment_order: list[ComputeEnvironmentOrderEntry]
    scheduling_policy_arn: Expr | None
    time_limit_actions: list[TimeLimitActionEntry]
    tags: Tags


class JobQueuesContext(TypedDict):
    """job_queues.tf.j2; verify and diff."""

    queues: list[JobQueueEntry]


class EvaluateOnExitEntry(TypedDict):
    """An ``evaluate_on_exit`` block (``.items()``, in this order); verify."""

    action: str
    on_exit_code: NotRequired[str]
    on_reason: NotRequired[str]
    on_status_reason: NotRequired[str]


class RetryStrategyEntry(TypedDict):
    """``retry_strategy`` in job_definitions.tf.j2; verify and the benchmarks."""

    attempts: int
    evaluate_on_exit: list[EvaluateOnExitEntry]


class EksEnvEntry(TypedDict):
    """An ``env`` block of an EKS container; verify."""

    name: str
    value: str


class EksResourcesEntry(TypedDict):
    """The ``resources`` block of an EKS container (``.items()``): Kubernetes quantities by
    resource name (``cpu``, ``memory``, ``nvidia.com/gpu``); verify."""

    limits: dict[str, str]
    requests: dict[str, str]


class EksContainerEntry(TypedDict):
    """A ``containers`` block of ``eks_properties.pod_properties`` (job_definitions.tf.j2
    writes it with ``.items()``, in this order: ``env`` entries and the mapping values
    ``resources`` and ``security_context`` become nested blocks); verify."""

    name: str
    image: str
    command: NotRequired[list[str]]
    env: list[EksEnvEntry]
    resources: EksResourcesEntry
    security_context: dict[str, int | bool]


class EksPropertiesEntry(TypedDict):
    """``eks_properties.pod_properties`` of an EKS job in job_definitions.tf.j2 (provider 5.x
    takes blocks, not JSON); verify (``check_job_definition``)."""

    host_network: bool
    service_account_name: str | None
    containers: list[EksContainerEntry]


class JobDefinitionEntry(TypedDict):
    """``aws_batch_job_definition`` in job_definitions.tf.j2; verify
    (``check_job_definition``), diff and the benchmarks (``create_with_boto3``).
    Exactly one of ``container_properties``, ``node_properties`` (``type`` multinode),
    ``ecs_properties`` and ``eks_properties`` is set."""

    label: str
    name: str
    type: str
    platform_capabilities: list[str]
    parameters: dict[str, str]
    propagate_tags: bool
    retry_strategy: RetryStrategyEntry | None
    scheduling_priority: int | None
    timeout: int | None
    container_properties: JsonObject | None
    node_properties: JsonObject | None
    ecs_properties: JsonObject | None
    eks_properties: EksPropertiesEntry | None
    tags: Tags
    # false with keep_old_revisions: an update leaves the superseded revision ACTIVE
    deregister_on_new_revision: bool


class JobDefinitionsContext(TypedDict):
    """job_definitions.tf.j2; verify, diff and the benchmarks."""

    jobs: list[JobDefinitionEntry]


class LogGroupEntry(TypedDict):
    """``aws_cloudwatch_log_group`` in logs.tf.j2; verify (``check_log_groups``,
    ``live.bind``), diff and the benchmarks."""

    label: str
    name: str
    retention_in_days: int | None
    kms_key_id: str | None
    tags: Tags


class LogsContext(TypedDict):
    """logs.tf.j2; verify, diff and the benchmarks."""

    log_groups: list[LogGroupEntry]


# --- schedules.tf, alerts.tf (compiler/batchform/plan/operations.py)
# ------------------------------------


class ScheduleEntry(TypedDict):
    """``aws_scheduler_schedule`` in schedules.tf.j2; verify (``check_schedules``) and diff."""

    label: str
    name: str
    description: str
    expression: str
    timezone: str
    state: str
    group: str
    target_arn: Expr
    role_arn: Expr
    input: JsonObject


class SchedulesContext(TypedDict):
    """schedules.tf.j2; verify and diff."""

    schedules: list[ScheduleEntry]


class TopicEntry(TypedDict):
    """``aws_sns_topic.alerts`` and its policy in alerts.tf.j2 (only when batchform creates it)."""

    name: str
    policy: JsonObject
    tags: Tags


class SubscriptionEntry(TypedDict):
    """``aws_sns_topic_subscription`` (e-mail) in alerts.tf.j2; diff."""

    label: str
    endpoint: str


class AlertRuleEntry(TypedDict):
    """``aws_cloudwatch_event_rule`` + its SNS target in alerts.tf.j2; verify
    (``check_alert_rules``: ``event`` names the check) and diff."""

    event: str
    label: str
    rule_name: Expr
    name: str
    description: str
    event_pattern: JsonObject
    topic_arn: Ref
    input_paths: dict[str, str]
    input_template: str
    tags: Tags


class AlertsContext(TypedDict):
    """alerts.tf.j2; verify and diff."""

    topic: TopicEntry | None
    subscriptions: list[SubscriptionEntry]
    rules: list[AlertRuleEntry]


# --- outputs.tf (compiler/batchform/plan/outputs.py)
# -----------------------------------------------------

OutputValue = Ref | list[Ref] | dict[str, Expr] | dict[str, dict[str, Expr]]
"""An output's value: a reference, a list of them, or maps keyed by the file's keys."""


class OutputEntry(TypedDict):
    """An ``output`` block in outputs.tf.j2."""

    name: str
    description: str
    value: OutputValue


class OutputsContext(TypedDict):
    """outputs.tf.j2."""

    outputs: list[OutputEntry]


# --- README.md (compiler/batchform/plan/readme.py)
# -------------------------------------------------------
# Every value is Markdown already escaped by the plan (md_code), so the template only lays out.


class ReadmeQueueRow(TypedDict):
    """A row of the job queues table in README.md.j2."""

    key: str
    name: str
    priority: int
    state: str
    scheduling: str
    compute_environments: str


class ReadmeComputeEnvironmentRow(TypedDict):
    """A row of the compute environments table in README.md.j2."""

    key: str
    name_prefix: str
    type: str
    strategy: str
    vcpus: str
    instance_types: str
    image: str
    launch_template: str
    state: str


class ReadmeJobRow(TypedDict):
    """A row of the job definitions table, and its ``submit-job`` example, in README.md.j2."""

    key: str
    name: str
    platform: str
    image: str
    vcpus: str
    memory: str
    gpus: int
    required: str
    submit: str


_WithColumn = TypedDict("_WithColumn", {"with": str})
"""The schedules table's "submitted with" column (``with`` is a Python keyword)."""


class ReadmeScheduleRow(_WithColumn):
    """A row of the schedules table in README.md.j2."""

    key: str
    when: str
    job: str
    queue: str
    state: str


class ReadmeAlertsEntry(TypedDict):
    """The alerts paragraph of README.md.j2."""

    events: str
    destination: str


class ReadmeContext(TypedDict):
    """README.md.j2: the environment at a glance."""

    source: str
    """The environment file (and the bases it extends), as Markdown code."""
    env_name: str
    region: str
    network: str
    service_role: str
    queues: list[ReadmeQueueRow]
    fair_share: bool
    compute_environments: list[ReadmeComputeEnvironmentRow]
    jobs: list[ReadmeJobRow]
    schedules: list[ReadmeScheduleRow]
    alerts: ReadmeAlertsEntry | None
    mermaid: list[str]
    module_block: list[str] | None
    """``terraform.output: module``: the HCL that calls the module (plan/module.py)."""
    module_label: str | None
    """The label of that ``module`` block (``naming.label`` of the environment's name)."""
    container_notes: list[str]
    """What a user of a job with container options must know (ECS Exec, kept revisions, swap,
    another log driver), one Markdown line each; empty for jobs without them."""
    eks_notes: list[str]
    """What an EKS cluster must allow before the first apply, one line per step (Markdown)."""


# --- variables.tf, module.tf (compiler/batchform/plan/module.py): terraform.output: module ---


class VariableValidationEntry(TypedDict):
    """A variable's ``validation`` block in variables.tf.j2."""

    condition: Expr
    error_message: str


class VariableEntry(TypedDict):
    """A ``variable`` block in variables.tf.j2 (README.md.j2 lists the same, ``module_block``)."""

    name: str
    type: Expr
    description: str
    default: dict[str, str] | str | list[str]
    """The file's value: the module works unchanged when the caller sets nothing."""
    validation: VariableValidationEntry | None


class VariablesContext(TypedDict):
    """variables.tf.j2: what the caller of a child module may set."""

    variables: list[VariableEntry]


class ModuleContext(TypedDict):
    """module.tf.j2: what a child module has instead of providers.tf: its common tags and the
    check that the caller's provider is in the file's region."""

    common_tags: Tags
    """The file's ``tags``, written over ``var.tags`` into ``local.tags``."""
    region: str
    region_attribute: str
    """``data.aws_region``'s attribute holding the region name: ``name`` (provider 5),
    ``region`` (provider 6, which deprecates ``name``)."""
    region_error: Expr
    """The message, naming the caller's region through ``self``."""


# --- the plan ---------------------------------------------------------------------------------

PlanFiles = TypedDict(
    "PlanFiles",
    {
        "versions.tf": VersionsContext,
        "providers.tf": ProvidersContext,
        "network.tf": NetworkContext,
        "security_groups.tf": SecurityGroupsContext,
        "efs.tf": EfsContext,
        "iam.tf": IamContext,
        "launch_templates.tf": LaunchTemplatesContext,
        "compute_environments.tf": ComputeEnvironmentsContext,
        "scheduling_policies.tf": SchedulingPoliciesContext,
        "job_queues.tf": JobQueuesContext,
        "job_definitions.tf": JobDefinitionsContext,
        "logs.tf": LogsContext,
        "schedules.tf": SchedulesContext,
        "alerts.tf": AlertsContext,
        "outputs.tf": OutputsContext,
        "variables.tf": VariablesContext,
        "module.tf": ModuleContext,
        "README.md": ReadmeContext,
    },
    total=False,
)
"""The context of every file a plan writes, by file name; a file with nothing in it is absent.
Each plan module returns the part it owns (``compiler/batchform/plan/__init__.py`` merges them); the
template of ``<file>`` is ``templates/<file>.j2`` and is also given ``header``."""

RENDER_GLOBALS = ("header",)
"""Names every template reads besides its context: the render stage passes them
(``render.render_plan``)."""


def file_contexts(files: PlanFiles) -> dict[str, Mapping[str, Any]]:
    """Every file's context as a plain mapping, for the consumers that treat all files alike:
    the renderer (which hands each to its template) and diff's walk over resource entries,
    which compares any two entries argument by argument. Readers of a particular key use the
    typed :data:`PlanFiles` instead."""
    return {name: cast(Mapping[str, Any], context) for name, context in files.items()}

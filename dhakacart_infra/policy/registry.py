"""The platform's policy rules as pure functions, shared by the Pulumi policy pack and the offline plan.

A resource rule judges one resource: `(type token, props, stack name) -> [violation message, ...]`.
`props` are the resource's inputs as the engine sends them to a policy pack: camelCase keys, plain
dicts and lists, secrets already revealed. Two adapters feed them:

* `policies/__main__.py` (`pulumi preview --policy-pack policies`), where the AWS provider's Check has
  merged the provider's `defaultTags` into `tags`/`tagsAll` and values that depend on resources not
  yet created are `UNKNOWN`;
* `dhakacart_infra/plan/policy_report.py` (`make plan`), over the resources recorded under mocks.

A stack rule judges relations between resources (every VPC has a flow log, every application
namespace has a default-deny NetworkPolicy): `(resources, stack name) -> [StackViolation, ...]`.

Rules read the stack name, never a flag: production rules apply to the stacks `is_production_stack`
names. Nothing here imports Pulumi, so the rules run anywhere Python does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

REQUIRED_TAGS = ("project", "environment", "stack", "managed-by")
WORLD_CIDRS = frozenset({"0.0.0.0/0", "::/0"})
WORLD_OPEN_TCP_PORTS = frozenset({80, 443})
PRODUCTION_BACKUP_RETENTION_DAYS = 7
PROGRAM_MANAGED_BY = "pulumi"


class _Unknown:
    """A value the engine cannot know during preview (it depends on a resource not yet created)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown during preview>"


UNKNOWN = _Unknown()


def is_production_stack(stack: str) -> bool:
    """prod, production, prod-<region>...: the stacks whose data and uptime matter."""
    name = stack.lower()
    return name in {"prod", "production"} or name.startswith(("prod-", "production-"))


# --------------------------------------------------------------------------------------------------
# Small helpers over plain data


def _get(obj: Any, *path: str | int, default: Any = None) -> Any:
    for key in path:
        if isinstance(key, int):
            if not isinstance(obj, Sequence) or isinstance(obj, str) or len(obj) <= key:
                return default
            obj = obj[key]
        else:
            if not isinstance(obj, Mapping) or key not in obj:
                return default
            obj = obj[key]
        if obj is None:
            return default
    return obj


def _items(value: Any) -> list[Any]:
    """A list input as a list (absent, None and UNKNOWN are empty)."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return []


def _as_mapping(value: Any) -> Mapping[str, Any]:
    """A map input, accepting the JSON string form providers receive their object inputs in."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, Mapping) else {}


def _truthy(value: Any) -> bool:
    """True for True and for "true": some AWS inputs (launch templates) are strings."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _port(value: Any) -> int | None:
    if isinstance(value, bool) or value is None or value is UNKNOWN:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------------------------------
# AWS rules

EC2_INSTANCE = "aws:ec2/instance:Instance"
EC2_LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EBS_VOLUME = "aws:ec2/volume:Volume"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_SSE_CONFIGS = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KMS_KEY = "aws:kms/key:Key"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SECURITY_GROUP_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
IAM_POLICY_TYPES = (
    "aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy", "aws:iam/groupPolicy:GroupPolicy",
)

# AWS resource types that take tags. Any other AWS resource whose props carry `tags` or `tagsAll`
# counts as taggable too, so a type missing here is still judged once it is tagged at all.
TAGGABLE_AWS_TYPES = frozenset({
    VPC, SUBNET, FLOW_LOG, SECURITY_GROUP, SECURITY_GROUP_INGRESS_RULE,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip",
    "aws:ec2/routeTable:RouteTable", "aws:ec2/networkAcl:NetworkAcl", "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl",
    "aws:ec2/defaultRouteTable:DefaultRouteTable", "aws:ec2/keyPair:KeyPair",
    EC2_INSTANCE, EC2_LAUNCH_TEMPLATE, EBS_VOLUME, RDS_INSTANCE, RDS_CLUSTER,
    "aws:rds/subnetGroup:SubnetGroup", "aws:rds/parameterGroup:ParameterGroup",
    "aws:rds/optionGroup:OptionGroup", *S3_BUCKETS, LOG_GROUP, KMS_KEY,
    "aws:iam/role:Role", "aws:iam/policy:Policy", "aws:iam/instanceProfile:InstanceProfile",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    "aws:ssm/parameter:Parameter", "aws:secretsmanager/secret:Secret", "aws:sns/topic:Topic",
    "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:backup/vault:Vault", "aws:backup/plan:Plan",
    "aws:dlm/lifecyclePolicy:LifecyclePolicy",
})


def _effective_tags(props: Mapping[str, Any]) -> dict[str, Any]:
    """What AWS will carry: `tagsAll` (resource tags plus the provider's default tags) over `tags`."""
    tags = dict(_as_mapping(props.get("tags")))
    tags.update(_as_mapping(props.get("tagsAll")))
    return tags


def _tag_key(key: str) -> str:
    """Project, project, managed-by, ManagedBy, managed_by: one tag, however it is cased."""
    return re.sub(r"[^a-z0-9]", "", key.lower())


def required_tags(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    if not is_taggable(resource_type, props):
        return []
    tags = {_tag_key(k): v for k, v in _effective_tags(props).items()}
    missing = [t for t in REQUIRED_TAGS
               if not isinstance(tags.get(_tag_key(t)), str) or not tags[_tag_key(t)]]
    if missing:
        return [f"missing required tags {', '.join(missing)}: set them once in the AWS provider's "
                "default_tags (dhakacart_infra/tags.py), not per resource"]
    if tags["stack"] != stack:
        return [f"tag stack={tags['stack']!r} does not name this stack {stack!r}"]
    return []


def ebs_encrypted(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    found: list[str] = []
    if resource_type == EBS_VOLUME:
        if not _truthy(props.get("encrypted")):
            found.append("EBS volume is not encrypted: set encrypted=True")
    elif resource_type == EC2_INSTANCE:
        root = _get(props, "rootBlockDevice")
        if not isinstance(root, Mapping) or not _truthy(root.get("encrypted")):
            found.append("the instance's root volume is not encrypted: set root_block_device.encrypted=True")
        for device in _items(props.get("ebsBlockDevices")):
            if not _truthy(_get(device, "encrypted")):
                found.append(f"EBS block device {_get(device, 'deviceName', default='?')} is not encrypted")
    elif resource_type == EC2_LAUNCH_TEMPLATE:
        for mapping in _items(props.get("blockDeviceMappings")):
            if isinstance(_get(mapping, "ebs"), Mapping) and not _truthy(_get(mapping, "ebs", "encrypted")):
                device = _get(mapping, "deviceName", default="?")
                found.append(f"launch template volume {device} is not encrypted")
    return found


def rds_storage_encrypted(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    if props.get("storageEncrypted") is not True:
        return ["database storage is not encrypted: set storage_encrypted=True (with a KMS key)"]
    return []


def rds_not_public(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    if props.get("publiclyAccessible") is not False and props.get("publiclyAccessible") is not None:
        return ["database is publicly accessible: set publicly_accessible=False and reach it from the VPC"]
    return []


def rds_multi_az_in_production(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    if resource_type == RDS_INSTANCE and is_production_stack(stack) and props.get("multiAz") is not True:
        return [f"stack {stack!r} is production: the database must be multi-AZ (multi_az=True)"]
    return []


def rds_deletion_protection_in_production(
    resource_type: str, props: Mapping[str, Any], stack: str,
) -> list[str]:
    if is_production_stack(stack) and props.get("deletionProtection") is not True:
        return [f"stack {stack!r} is production: the database needs deletion_protection=True"]
    return []


def rds_backups_in_production(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    if not is_production_stack(stack):
        return []
    days = _port(props.get("backupRetentionPeriod"))
    if days is None or days < PRODUCTION_BACKUP_RETENTION_DAYS:
        return [f"stack {stack!r} is production: keep automated backups for at least "
                f"{PRODUCTION_BACKUP_RETENTION_DAYS} days (backup_retention_period, now {days})"]
    if resource_type == RDS_INSTANCE and props.get("skipFinalSnapshot") is True:
        return [f"stack {stack!r} is production: take a final snapshot on deletion "
                "(skip_final_snapshot=False)"]
    return []


def rds_performance_insights_in_production(
    resource_type: str, props: Mapping[str, Any], stack: str,
) -> list[str]:
    if is_production_stack(stack) and props.get("performanceInsightsEnabled") is not True:
        return [f"stack {stack!r} is production: enable Performance Insights "
                "(performance_insights_enabled=True) to diagnose slow queries"]
    return []


def log_group_encrypted(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    if not props.get("kmsKeyId"):
        return ["log group is not encrypted with a customer-managed KMS key: set kms_key_id"]
    return []


def log_group_retention(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    days = _port(props.get("retentionInDays"))
    if props.get("retentionInDays") is UNKNOWN:
        return []
    if days is None or days <= 0:
        return ["log group keeps logs forever: set retention_in_days"]
    return []


def kms_key_rotation(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    spec = props.get("customerMasterKeySpec") or props.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec == "SYMMETRIC_DEFAULT" and props.get("enableKeyRotation") is not True:
        return ["KMS key rotation is off: set enable_key_rotation=True"]
    return []


def subnet_no_auto_public_ip(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    if props.get("mapPublicIpOnLaunch") is True:
        return ["subnet gives every instance a public IP: set map_public_ip_on_launch=False and attach an "
                "Elastic IP only to the instance that must be reachable"]
    return []


def _world_open_violation(protocol: Any, from_port: Any, to_port: Any, cidrs: Iterable[Any]) -> str | None:
    world = sorted({c for c in cidrs if c in WORLD_CIDRS})
    if not world:
        return None
    proto = str(protocol).lower() if protocol is not None else ""
    low, high = _port(from_port), _port(to_port)
    if proto in {"tcp", "6"} and low is not None and low == high and low in WORLD_OPEN_TCP_PORTS:
        return None
    ports = "all ports" if proto in {"-1", "all"} else f"{proto} {low}-{high}"
    return (f"{ports} open to {', '.join(world)}: only TCP 80 and 443 may face the internet; "
            "restrict the source to a CIDR or a security group")


def security_group_no_world_open_ports(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    candidates: list[tuple[Any, Any, Any, list[Any]]] = []
    if resource_type == SECURITY_GROUP:
        for rule in _items(props.get("ingress")):
            cidrs = _items(_get(rule, "cidrBlocks")) + _items(_get(rule, "ipv6CidrBlocks"))
            candidates.append((_get(rule, "protocol"), _get(rule, "fromPort"), _get(rule, "toPort"), cidrs))
    elif resource_type == SECURITY_GROUP_RULE:
        if props.get("type") == "ingress":
            cidrs = _items(props.get("cidrBlocks")) + _items(props.get("ipv6CidrBlocks"))
            candidates.append((props.get("protocol"), props.get("fromPort"), props.get("toPort"), cidrs))
    elif resource_type == SECURITY_GROUP_INGRESS_RULE:
        cidrs = [props.get("cidrIpv4"), props.get("cidrIpv6")]
        candidates.append((props.get("ipProtocol"), props.get("fromPort"), props.get("toPort"), cidrs))
    found = [_world_open_violation(*c) for c in candidates]
    return [f for f in found if f]


def ec2_imdsv2(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    if _get(props, "metadataOptions", "httpTokens") != "required":
        return ["instance metadata accepts IMDSv1: set metadata_options.http_tokens='required'"]
    return []


def iam_no_wildcard_actions(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    document = props.get("policy")
    if document is UNKNOWN or document is None:
        return []
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return ["the policy document is not valid JSON"]
    found = []
    for statement in _items(_get(document, "Statement")) or [_get(document, "Statement")]:
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else _items(actions)
        if "NotAction" in statement:
            found.append("an Allow statement uses NotAction: list the actions it grants")
        if any(a == "*" or (isinstance(a, str) and a.endswith(":*")) for a in actions):
            found.append(f"an Allow statement grants every action of a service ({actions}): "
                         "list the actions the role needs")
    return found


# --------------------------------------------------------------------------------------------------
# Kubernetes rules

POD = "kubernetes:core/v1:Pod"
NAMESPACE = "kubernetes:core/v1:Namespace"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CRON_JOB = "kubernetes:batch/v1:CronJob"
LONG_RUNNING_WORKLOADS = (
    "kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet", "kubernetes:apps/v1:ReplicaSet",
)
WORKLOADS = (*LONG_RUNNING_WORKLOADS, "kubernetes:batch/v1:Job", CRON_JOB, POD)
POD_SECURITY_LEVELS = ("privileged", "baseline", "restricted")
POD_SECURITY_ENFORCE = "pod-security.kubernetes.io/enforce"
# Kubernetes' own namespaces: created by the cluster, never by this program.
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod template's spec of a workload (None for other kinds)."""
    if resource_type == POD:
        spec = _get(props, "spec")
    elif resource_type == CRON_JOB:
        spec = _get(props, "spec", "jobTemplate", "spec", "template", "spec")
    elif resource_type in WORKLOADS:
        spec = _get(props, "spec", "template", "spec")
    else:
        return None
    return spec if isinstance(spec, Mapping) else {}


def _containers(spec: Mapping[str, Any], *, init: bool = True) -> list[tuple[str, Mapping[str, Any]]]:
    kinds = ("containers", "initContainers") if init else ("containers",)
    found = []
    for kind in kinds:
        for container in _items(spec.get(kind)):
            if isinstance(container, Mapping):
                found.append((f"{'init container' if kind == 'initContainers' else 'container'} "
                              f"{container.get('name', '?')}", container))
    return found


def _each_container(
    judge: Callable[[Mapping[str, Any], Mapping[str, Any]], str | None], *, init: bool = True,
) -> Callable[[str, Mapping[str, Any], str], list[str]]:
    """A workload rule from a judgement of one container (given the pod spec too)."""

    def rule(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
        spec = pod_spec(resource_type, props)
        if spec is None:
            return []
        found = []
        for label, container in _containers(spec, init=init):
            message = judge(spec, container)
            if message:
                found.append(f"{label}: {message}")
        return found

    rule.__name__ = judge.__name__
    rule.__doc__ = judge.__doc__
    return rule


def _run_as_non_root(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    ctx = _get(container, "securityContext", default={})
    pod_ctx = _get(spec, "securityContext", default={})
    non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
    user = ctx.get("runAsUser", pod_ctx.get("runAsUser"))
    if non_root is not True or _port(user) == 0:
        return "must run as non-root (securityContext.runAsNonRoot=true, runAsUser not 0)"
    return None


def _no_privilege_escalation(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    if _get(container, "securityContext", "allowPrivilegeEscalation") is not False:
        return "set securityContext.allowPrivilegeEscalation=false"
    return None


def _drop_all_capabilities(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    drop = [str(c).upper() for c in _items(_get(container, "securityContext", "capabilities", "drop"))]
    add = [str(c).upper() for c in _items(_get(container, "securityContext", "capabilities", "add"))]
    if "ALL" not in drop:
        return "drop every capability (securityContext.capabilities.drop=[ALL])"
    if set(add) - {"NET_BIND_SERVICE"}:
        extra = sorted(set(add) - {"NET_BIND_SERVICE"})
        return f"adds capabilities {extra}: only NET_BIND_SERVICE is allowed"
    return None


def _read_only_root_filesystem(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    if _get(container, "securityContext", "readOnlyRootFilesystem") is not True:
        return "set securityContext.readOnlyRootFilesystem=true (mount an emptyDir where it must write)"
    return None


def _seccomp_runtime_default(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    profile = _get(container, "securityContext", "seccompProfile", "type") or _get(
        spec, "securityContext", "seccompProfile", "type")
    if profile not in ("RuntimeDefault", "Localhost"):
        return "set seccompProfile.type=RuntimeDefault (pod or container securityContext)"
    return None


def _not_privileged(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    if _get(container, "securityContext", "privileged") is True:
        return "must not run privileged"
    return None


def _probes(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    missing = [p for p in ("readinessProbe", "livenessProbe") if not isinstance(container.get(p), Mapping)]
    if missing:
        return f"has no {' and no '.join(missing)}"
    return None


def _resources(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    missing = [f"{kind}.{res}" for kind in ("requests", "limits") for res in ("cpu", "memory")
               if not _get(container, "resources", kind, res)]
    if missing:
        return f"set resources {', '.join(missing)}"
    return None


def image_reference_problem(image: Any) -> str | None:
    """Why an image reference is not pinned, or None when it names a tag (not latest) or a digest."""
    if image is UNKNOWN:
        return None
    if not isinstance(image, str) or not image:
        return "has no image"
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag: pin a version tag or a digest"
    if last.rsplit(":", 1)[1] in ("latest", ""):
        return f"image {image!r} uses the latest tag: pin a version tag or a digest"
    return None


def _pinned_image(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    return image_reference_problem(container.get("image"))


SECRET_NAME_SEGMENTS = frozenset({
    "PASSWORD", "PASSWD", "PWD", "SECRET", "TOKEN", "KEY", "APIKEY", "CREDENTIAL", "CREDENTIALS",
    "PASSPHRASE", "PRIVATE",
})
# Names that only point at a secret (a file, a key id, a secret's name) are not secrets themselves.
REFERENCE_NAME_SUFFIXES = frozenset({"FILE", "PATH", "DIR", "NAME", "REF", "ARN", "ID", "HEADER"})
URL_WITH_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    """PASSWORD, SECRET_KEY, API_TOKEN... by name; SECRET_KEY_FILE, KMS_KEY_ID point at one instead."""
    segments = [s for s in re.split(r"[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])", name) if s]
    upper = [s.upper() for s in segments]
    if not upper or upper[-1] in REFERENCE_NAME_SUFFIXES:
        return False
    return any(s in SECRET_NAME_SEGMENTS for s in upper)


def has_url_credentials(value: Any) -> bool:
    return isinstance(value, str) and bool(URL_WITH_CREDENTIALS.search(value))


def _no_secret_env_literals(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    leaks = []
    for env in _items(container.get("env")):
        name, value = _get(env, "name", default=""), _get(env, "value")
        if value is None or value is UNKNOWN or value == "":
            continue
        if is_secret_name(str(name)) or has_url_credentials(value):
            leaks.append(str(name))
    if leaks:
        return (f"env {', '.join(leaks)} hold secrets as literals: use valueFrom.secretKeyRef "
                "(or envFrom a Secret)")
    return None


def _host_namespaces(spec: Mapping[str, Any]) -> list[str]:
    return [f"{field_name}=true is not allowed" for field_name in ("hostNetwork", "hostPID", "hostIPC")
            if spec.get(field_name) is True]


def no_host_namespaces(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    spec = pod_spec(resource_type, props)
    if spec is None:
        return []
    found = _host_namespaces(spec)
    for label, container in _containers(spec):
        for port in _items(container.get("ports")):
            if _get(port, "hostPort"):
                found.append(f"{label}: hostPort {_get(port, 'hostPort')} is not allowed")
    return found


def no_host_path(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    spec = pod_spec(resource_type, props)
    if spec is None:
        return []
    return [f"volume {_get(v, 'name', default='?')} mounts hostPath {_get(v, 'hostPath', 'path')}: use a "
            "PersistentVolumeClaim or emptyDir" for v in _items(spec.get("volumes")) if _get(v, "hostPath")]


def namespace_pod_security(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    labels = _as_mapping(_get(props, "metadata", "labels"))
    level = labels.get(POD_SECURITY_ENFORCE)
    if level is UNKNOWN:
        return []
    if level not in POD_SECURITY_LEVELS:
        return [f"label {POD_SECURITY_ENFORCE} must be one of {', '.join(POD_SECURITY_LEVELS)} "
                f"(got {level!r}): Pod Security admission only guards labelled namespaces"]
    return []


def no_default_namespace(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    namespace = _get(props, "metadata", "namespace")
    if namespace in (None, "", "default"):
        return ["object lands in the default namespace: set metadata.namespace to the owning namespace"]
    return []


def ingress_tls(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    tls = _items(_get(props, "spec", "tls"))
    covered = {h for entry in tls for h in _items(_get(entry, "hosts"))}
    if not tls:
        return ["Ingress serves plain HTTP: add spec.tls with a secretName (cert-manager issues it)"]
    found = [f"TLS entry for {_items(_get(e, 'hosts'))} has no secretName" for e in tls
             if not _get(e, "secretName")]
    for rule in _items(_get(props, "spec", "rules")):
        host = _get(rule, "host")
        if host is UNKNOWN or UNKNOWN in covered:
            continue
        if not host:
            found.append("a rule has no host: TLS can only cover named hosts")
        elif host not in covered:
            found.append(f"host {host} is not covered by spec.tls")
    return found


def no_secrets_in_config_maps(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    found = []
    for section in ("data", "binaryData"):
        for key, value in _as_mapping(props.get(section)).items():
            if is_secret_name(key):
                found.append(f"key {key} looks like a secret: keep it in a Secret")
            elif has_url_credentials(value):
                found.append(f"key {key} holds a URL with credentials: keep it in a Secret")
    return found


HELM_RELEASE_TYPES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")
# An exact chart version: 1.2.3, v1.2.3, 1.2.3-rc.1 (build metadata allowed); never a range or empty.
EXACT_CHART_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def helm_chart_pinned(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    """A chart is pinned to an exact version and fetched over TLS (https:// or oci://).

    Helm renders a release's workloads on the cluster, so no other rule ever sees them: what this
    program controls, and what is judged here, is exactly which chart it installs.
    """
    chart = props.get("chart")
    version = props.get("version")
    repo = _get(props, "repositoryOpts", "repo")
    found = []
    if version is not UNKNOWN and not (isinstance(version, str) and EXACT_CHART_VERSION.match(version)):
        found.append(f"chart {chart!r} version {version!r} is not an exact version: pin one such as "
                     "\"1.2.3\" (an empty version or a range installs whatever is newest)")
    if repo is UNKNOWN or chart is UNKNOWN:
        return found
    source = repo if isinstance(repo, str) and repo else chart
    if not isinstance(source, str) or not source:
        found.append("no chart given: set chart and repositoryOpts.repo")
    elif source.startswith("http://"):
        found.append(f"chart {chart!r} comes from {source} over plain HTTP: use the https:// repository")
    elif not source.startswith(("https://", "oci://", "./", "../", "/")):
        found.append(f"chart {chart!r} names no repository: set repositoryOpts.repo to its official "
                     "https:// repository (a `helm repo add` name exists only on one machine)")
    return found


# --------------------------------------------------------------------------------------------------
# Stack rules


@dataclass(frozen=True)
class StackResource:
    """One resource as a stack rule sees it (built from a PolicyResource or a RecordedResource)."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class StackViolation:
    message: str
    urn: str = ""


def _depends_on_property(resource: StackResource, prop: str, target: StackResource) -> bool:
    return target.urn in resource.property_dependencies.get(prop, ())


def _refers_to(resource: StackResource, prop: str, target: StackResource, *target_props: str) -> bool:
    """True when `resource.prop` is wired to `target` (by dependency, or by an equal known value)."""
    if _depends_on_property(resource, prop, target):
        return True
    value = resource.props.get(prop)
    if value in (None, UNKNOWN):
        return False
    known = [target.props.get(p) for p in target_props if target.props.get(p) not in (None, UNKNOWN)]
    return value in known


def vpc_flow_logs(resources: Sequence[StackResource], stack: str) -> list[StackViolation]:
    flow_logs = [r for r in resources if r.type == FLOW_LOG]
    return [StackViolation(f"VPC {vpc.name} has no flow log: add an aws.ec2.FlowLog with vpc_id=vpc.id",
                           vpc.urn)
            for vpc in resources if vpc.type == VPC
            if not any(_refers_to(f, "vpcId", vpc, "id") for f in flow_logs)]


def s3_encryption(resources: Sequence[StackResource], stack: str) -> list[StackViolation]:
    configs = [r for r in resources if r.type in S3_SSE_CONFIGS]
    found = []
    for bucket in (r for r in resources if r.type in S3_BUCKETS):
        inline = _get(bucket.props, "serverSideEncryptionConfiguration", "rule",
                      "applyServerSideEncryptionByDefault", "sseAlgorithm")
        if inline or any(_refers_to(c, "bucket", bucket, "bucket", "id") for c in configs):
            continue
        found.append(StackViolation(f"bucket {bucket.name} has no default encryption: add a "
                                    "BucketServerSideEncryptionConfiguration (aws:kms)", bucket.urn))
    return found


def s3_public_access_block(resources: Sequence[StackResource], stack: str) -> list[StackViolation]:
    blocks = [r for r in resources if r.type == S3_PUBLIC_ACCESS_BLOCK]
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    found = []
    for bucket in (r for r in resources if r.type in S3_BUCKETS):
        mine = [b for b in blocks if _refers_to(b, "bucket", bucket, "bucket", "id")]
        if not any(all(b.props.get(f) is True for f in flags) for b in mine):
            found.append(StackViolation(
                f"bucket {bucket.name} is not shielded from public access: add a "
                f"BucketPublicAccessBlock with {', '.join(flags)} all True", bucket.urn))
    return found


def _namespace_of(resource: StackResource) -> Any:
    return _get(resource.props, "metadata", "namespace")


def application_namespaces(resources: Sequence[StackResource]) -> set[str]:
    """Namespaces where this program itself declares workloads.

    Workloads that Helm releases render (cert-manager, the monitoring stack's node-exporter, which
    needs the host's namespaces) are the charts' own and never reach a policy pack as objects: no
    rule sees them, only the release itself (k8s-helm-chart-pinned judges which chart it installs).
    The namespaces that only hold them are platform namespaces, not application ones.
    """
    return {ns for r in resources if r.type in WORKLOADS
            for ns in [_namespace_of(r)] if isinstance(ns, str) and ns not in SYSTEM_NAMESPACES}


def _is_default_deny(policy: StackResource, direction: str) -> bool:
    spec = _get(policy.props, "spec", default={})
    selector = _get(spec, "podSelector", default={})
    selects_all = not _get(selector, "matchLabels") and not _get(selector, "matchExpressions")
    rules_key = "ingress" if direction == "Ingress" else "egress"
    return selects_all and direction in _items(spec.get("policyTypes")) and not _items(spec.get(rules_key))


def default_deny_network_policy(resources: Sequence[StackResource], stack: str) -> list[StackViolation]:
    policies = [r for r in resources if r.type == NETWORK_POLICY]
    found = []
    for namespace in sorted(application_namespaces(resources)):
        mine = [p for p in policies if _namespace_of(p) == namespace]
        for direction in ("Ingress", "Egress"):
            if not any(_is_default_deny(p, direction) for p in mine):
                found.append(StackViolation(
                    f"namespace {namespace} has no default-deny {direction} NetworkPolicy (podSelector {{}}, "
                    f"policyTypes [{direction}], no rules): every allowed flow must be explicit"))
    return found


def application_namespaces_restricted(resources: Sequence[StackResource], stack: str) -> list[StackViolation]:
    declared = {_get(r.props, "metadata", "name"): r for r in resources if r.type == NAMESPACE}
    found = []
    for namespace in sorted(application_namespaces(resources)):
        ns = declared.get(namespace)
        if ns is None:
            found.append(StackViolation(
                f"application namespace {namespace} is not declared by this program, so its Pod "
                "Security labels are not managed: declare the Namespace"))
            continue
        level = _as_mapping(_get(ns.props, "metadata", "labels")).get(POD_SECURITY_ENFORCE)
        if level != "restricted" and level is not UNKNOWN:
            found.append(StackViolation(f"application namespace {namespace} enforces Pod Security {level!r}: "
                                        "application namespaces enforce 'restricted'", ns.urn))
    return found


# --------------------------------------------------------------------------------------------------
# The registry

ResourceRule = Callable[[str, Mapping[str, Any], str], list[str]]
StackRule = Callable[[Sequence[StackResource], str], list[StackViolation]]


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    resource_types: tuple[str, ...] = ()  # resource policies: exact tokens, or "aws:*"
    check: ResourceRule | None = None
    stack_check: StackRule | None = None
    enforcement: str = "mandatory"

    def applies_to(self, resource_type: str) -> bool:
        if self.check is None:
            return False
        return any(resource_type == t or (t.endswith("*") and resource_type.startswith(t[:-1]))
                   for t in self.resource_types)

    def judge(self, resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
        if not self.applies_to(resource_type):
            return []
        assert self.check is not None
        return self.check(resource_type, props, stack)


def _resource(name: str, description: str, types: Iterable[str], check: ResourceRule) -> Policy:
    return Policy(name, description, tuple(types), check=check)


def _stack(name: str, description: str, check: StackRule) -> Policy:
    return Policy(name, description, stack_check=check)


RDS_TYPES = (RDS_INSTANCE, RDS_CLUSTER)
SG_TYPES = (SECURITY_GROUP, SECURITY_GROUP_RULE, SECURITY_GROUP_INGRESS_RULE)

POLICIES: tuple[Policy, ...] = (
    # AWS: encryption at rest
    _resource("aws-ebs-encrypted", "EBS volumes (instance root and data volumes) are encrypted.",
              (EC2_INSTANCE, EBS_VOLUME, EC2_LAUNCH_TEMPLATE), ebs_encrypted),
    _resource("aws-rds-storage-encrypted", "Database storage is encrypted.", RDS_TYPES,
              rds_storage_encrypted),
    _stack("aws-s3-encrypted", "Every S3 bucket has default server-side encryption.", s3_encryption),
    _resource("aws-log-group-kms-encrypted", "CloudWatch log groups are encrypted with a KMS key.",
              (LOG_GROUP,), log_group_encrypted),
    _resource("aws-log-group-retention", "CloudWatch log groups expire their logs.", (LOG_GROUP,),
              log_group_retention),
    _resource("aws-kms-key-rotation", "Symmetric KMS keys rotate yearly.", (KMS_KEY,), kms_key_rotation),
    # AWS: exposure
    _resource("aws-rds-not-public", "Databases are not publicly accessible.", RDS_TYPES, rds_not_public),
    _stack("aws-s3-public-access-blocked", "Every S3 bucket blocks public ACLs and policies.",
           s3_public_access_block),
    _resource("aws-security-group-no-world-open-ports",
              "Only TCP 80 and 443 accept traffic from 0.0.0.0/0 or ::/0.", SG_TYPES,
              security_group_no_world_open_ports),
    _resource("aws-subnet-no-auto-public-ip", "Subnets do not hand out public IPs on launch.", (SUBNET,),
              subnet_no_auto_public_ip),
    _resource("aws-ec2-imdsv2", "Instances and launch templates require IMDSv2 tokens.",
              (EC2_INSTANCE, EC2_LAUNCH_TEMPLATE), ec2_imdsv2),
    _resource("aws-iam-no-wildcard-actions", "IAM policies grant listed actions, never service:* or *.",
              IAM_POLICY_TYPES, iam_no_wildcard_actions),
    # AWS: production resilience (by stack name)
    _resource("aws-rds-multi-az-in-production", "Production databases are multi-AZ.", RDS_TYPES,
              rds_multi_az_in_production),
    _resource("aws-rds-deletion-protection-in-production", "Production databases have deletion protection.",
              RDS_TYPES, rds_deletion_protection_in_production),
    _resource("aws-rds-backups-in-production",
              f"Production databases keep backups for {PRODUCTION_BACKUP_RETENTION_DAYS}+ days and a final "
              "snapshot.", RDS_TYPES, rds_backups_in_production),
    # AWS: observability and ownership
    _resource("aws-rds-performance-insights-in-production",
              "Production databases record Performance Insights.", RDS_TYPES,
              rds_performance_insights_in_production),
    _stack("aws-vpc-flow-logs", "Every VPC records flow logs.", vpc_flow_logs),
    _resource("aws-required-tags", "Taggable AWS resources carry project, environment, stack and managed-by.",
              ("aws:*",), required_tags),
    # Kubernetes: restricted security context
    _resource("k8s-run-as-non-root", "Containers run as a non-root user.", WORKLOADS,
              _each_container(_run_as_non_root)),
    _resource("k8s-no-privilege-escalation", "Containers cannot gain privileges.", WORKLOADS,
              _each_container(_no_privilege_escalation)),
    _resource("k8s-drop-all-capabilities", "Containers drop every Linux capability.", WORKLOADS,
              _each_container(_drop_all_capabilities)),
    _resource("k8s-read-only-root-filesystem", "Containers have a read-only root filesystem.", WORKLOADS,
              _each_container(_read_only_root_filesystem)),
    _resource("k8s-seccomp-runtime-default", "Pods run under the RuntimeDefault seccomp profile.", WORKLOADS,
              _each_container(_seccomp_runtime_default)),
    _resource("k8s-no-privileged-containers", "No container runs privileged.", WORKLOADS,
              _each_container(_not_privileged)),
    # Kubernetes: operability
    _resource("k8s-probes", "Long-running containers have readiness and liveness probes.",
              LONG_RUNNING_WORKLOADS, _each_container(_probes, init=False)),
    _resource("k8s-resources", "Every container sets CPU and memory requests and limits.", WORKLOADS,
              _each_container(_resources)),
    _resource("k8s-image-pinned", "Images are pinned by a version tag or digest, never latest or untagged.",
              WORKLOADS, _each_container(_pinned_image)),
    # Kubernetes: isolation
    _resource("k8s-namespace-pod-security", "Namespaces carry a Pod Security enforce label.", (NAMESPACE,),
              namespace_pod_security),
    _stack("k8s-application-namespaces-restricted",
           "Namespaces with this program's workloads enforce the restricted Pod Security level.",
           application_namespaces_restricted),
    _stack("k8s-default-deny-network-policy",
           "Every application namespace has default-deny Ingress and Egress NetworkPolicies.",
           default_deny_network_policy),
    _resource("k8s-no-host-namespaces", "Pods share no host network, PID or IPC namespace, nor host ports.",
              WORKLOADS, no_host_namespaces),
    _resource("k8s-no-host-path", "Pods mount no hostPath volume.", WORKLOADS, no_host_path),
    _resource("k8s-no-default-namespace", "Namespaced objects never land in the default namespace.",
              (*WORKLOADS, CONFIG_MAP, "kubernetes:core/v1:Secret", "kubernetes:core/v1:Service", INGRESS,
               NETWORK_POLICY, "kubernetes:core/v1:ServiceAccount"), no_default_namespace),
    _resource("k8s-ingress-tls", "Every Ingress serves all its hosts over TLS.", (INGRESS,), ingress_tls),
    _resource("k8s-helm-chart-pinned",
              "Helm charts are pinned to an exact version from an https:// or oci:// repository.",
              HELM_RELEASE_TYPES, helm_chart_pinned),
    # Kubernetes: secrets
    _resource("k8s-no-secrets-in-config-maps",
              "ConfigMaps hold no passwords, tokens, keys or credential URLs.",
              (CONFIG_MAP,), no_secrets_in_config_maps),
    _resource("k8s-no-secret-env-literals",
              "Secret-looking environment variables come from Secrets, never literals.", WORKLOADS,
              _each_container(_no_secret_env_literals)),
)

POLICIES_BY_NAME = {p.name: p for p in POLICIES}
assert len(POLICIES_BY_NAME) == len(POLICIES), "policy names must be unique"


def is_taggable(resource_type: str, props: Mapping[str, Any]) -> bool:
    return resource_type in TAGGABLE_AWS_TYPES or (
        resource_type.startswith("aws:") and ("tags" in props or "tagsAll" in props))


def with_provider_default_tags(
    resource_type: str, props: Mapping[str, Any], provider_props: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """`props` with `tagsAll` = the provider's default tags, then the resource's tags, as AWS applies them.

    pulumi-aws merges `defaultTags` into a resource's tags in its Check, so a policy pack usually sees
    them already; the offline plan records the explicit provider's inputs instead. Merging here makes
    both judge the same effective tags. Resources that take no tags are returned unchanged.
    """
    merged = dict(props)
    if not is_taggable(resource_type, props):
        return merged
    default_tags = _as_mapping(_as_mapping((provider_props or {}).get("defaultTags")).get("tags"))
    tags_all = dict(default_tags)
    tags_all.update(_as_mapping(props.get("tagsAll")))
    tags_all.update(_as_mapping(props.get("tags")))
    merged["tagsAll"] = tags_all
    return merged

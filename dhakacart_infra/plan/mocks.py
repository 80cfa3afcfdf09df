"""Pulumi mocks that behave like the engine closely enough to judge the program offline.

One shared layer for the unit tests and the offline plan (`make plan`):

* `PlanMocks` answers resource registrations and provider calls with realistic outputs (ids, ARNs,
  addresses, an AMI, availability zones) and, like the engine, marks `additional_secret_outputs`
  as secrets so secrecy can be asserted under mocks.
* `RecordingMonitor` keeps what the engine would be sent for every resource: type, name, parent,
  provider, explicit and property dependencies, options, and the full inputs with secrets still
  marked. Tests and the plan read those records; nothing is re-derived from the program's code.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs
from pulumi.runtime.sync_await import _sync_await

from .dynamic_outputs import DYNAMIC_RESOURCE_OUTPUTS
from .mock_keys import seeded_rsa_pem

MOCK_ACCOUNT_ID = "123456789012"
MOCK_REGION_ZONES = {"a": "aps1-az1", "b": "aps1-az3", "c": "aps1-az2"}
MOCK_UBUNTU_AMI_ID = "ami-0f58b397bc5c1f2e8"

def is_secret(value: Any) -> bool:
    return rpc.is_rpc_secret(value)


def reveal(value: Any) -> Any:
    """The value with every secret marker removed (for assertions on content)."""
    if rpc.is_rpc_secret(value):
        return reveal(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def mask_secrets(value: Any, mask: str = "[secret]") -> Any:
    """The value with every secret replaced by `mask` (for printing and writing to disk)."""
    if rpc.is_rpc_secret(value):
        return mask
    if isinstance(value, dict):
        return {k: mask_secrets(v, mask) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v, mask) for v in value]
    return value


def contains_secret(value: Any) -> bool:
    if rpc.is_rpc_secret(value):
        return True
    if isinstance(value, dict):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secret(v) for v in value)
    return False


class MockGapError(LookupError):
    """The program used a call or dynamic resource the mocks cannot answer realistically yet."""


def _stable_hex(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


@dataclass
class RecordedResource:
    """One resource registration as the engine would receive it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    provider: str  # "<provider urn>::<provider id>", or "" for the ambient default provider
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    inputs: dict[str, Any]  # secrets still wrapped: use reveal()/mask_secrets()/is_secret()
    protect: bool
    delete_before_replace: bool
    ignore_changes: list[str]
    additional_secret_outputs: list[str]
    id: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)  # register_outputs of a component
    # Earlier identities (pulumi.Alias) as sent to the engine: {"spec": {"name", "type", "parentUrn",
    # ...}} or {"urn": ...}; they let `pulumi up` adopt a moved resource instead of replacing it.
    aliases: list[dict[str, Any]] = field(default_factory=list)

    @property
    def provider_urn(self) -> str:
        return self.provider.rsplit("::", 1)[0] if self.provider else ""

    @property
    def parent_name(self) -> str:
        return self.parent.rsplit("::", 1)[-1] if self.parent else ""

    def revealed(self) -> dict[str, Any]:
        return reveal(self.inputs)


class PlanMocks(pulumi.runtime.Mocks):
    """Realistic answers for the resources and calls this program uses; anything else is an error."""

    def __init__(self, region: str = "ap-south-1", last_outputs: dict[str, Any] | None = None) -> None:
        self.region = region
        # What a StackReference to this stack reads: the outputs of its last `pulumi up` (none: a
        # stack never deployed).
        self.last_outputs = dict(last_outputs or {})
        self._secret_outputs: dict[tuple[str, str], list[str]] = {}
        # AWS provider URN -> its default_tags, merged into each resource's tagsAll like the engine.
        self._aws_default_tags: dict[str, dict[str, str]] = {}

    def remember_aws_provider(self, urn: str, inputs: dict[str, Any]) -> None:
        default_tags = inputs.get("defaultTags") or {}
        if isinstance(default_tags, str):  # provider inputs arrive JSON-encoded
            default_tags = json.loads(default_tags)
        self._aws_default_tags[urn] = dict(default_tags.get("tags") or {})

    # The monitor tells us which outputs the SDK declared secret before asking for the state.
    def expect_secret_outputs(self, type_: str, name: str, keys: list[str]) -> None:
        self._secret_outputs[(type_, name)] = keys

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        inputs = reveal(dict(args.inputs))
        state = dict(inputs)
        resource_id = self._resource_id(args.typ, args.name)
        state.update(self._extra_state(args.typ, args.name, inputs, resource_id))
        if args.typ == "pulumi:pulumi:StackReference":
            state.update(outputs=dict(self.last_outputs), secretOutputNames=[])
        # An Auto Scaling group's tags are a list of its own, which the provider's default tags skip.
        if args.typ.startswith("aws:") and not isinstance(inputs.get("tags"), list):
            provider_urn = (args.provider or "").rsplit("::", 1)[0]
            state["tagsAll"] = {**self._aws_default_tags.get(provider_urn, {}), **(inputs.get("tags") or {})}
        for key in self._secret_outputs.pop((args.typ, args.name), []):
            if key in state:
                state[key] = rpc.wrap_rpc_secret(state[key])
        return resource_id, state

    def call(self, args: MockCallArgs) -> tuple[dict, list[tuple[str, str]]]:
        function, a = args.token, reveal(dict(args.args))
        region = self.region
        if function == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{region}{s}" for s in MOCK_REGION_ZONES]
            return {"names": names, "zoneIds": list(MOCK_REGION_ZONES.values()), "id": region}, []
        if function == "aws:index/getRegion:getRegion":
            return {"name": region, "region": region, "id": region, "description": "Asia Pacific (Mumbai)",
                    "endpoint": f"ec2.{region}.amazonaws.com"}, []
        if function == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": MOCK_ACCOUNT_ID, "arn": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:user/ci",
                    "userId": "AIDAMOCKUSER", "id": MOCK_ACCOUNT_ID}, []
        if function == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        if function == "aws:ec2/getAmi:getAmi":
            names = next((f.get("values", []) for f in a.get("filters", []) if f.get("name") == "name"), [])
            # Canonical's naming: ubuntu/images/hvm-ssd-gp3/ubuntu-<codename>-<version>-amd64-server-<date>.
            pattern = names[0] if names else "ubuntu/images/hvm-ssd-gp3/ubuntu-*-26.04-amd64-server-*"
            version = re.search(r"-(\d\d\.\d\d)-", pattern)
            codename = {"24.04": "noble", "26.04": "resolute"}.get(version[1] if version else "", "resolute")
            name = pattern.replace("ubuntu-*-", f"ubuntu-{codename}-", 1).replace("*", "20261101")
            return {"id": MOCK_UBUNTU_AMI_ID, "imageId": MOCK_UBUNTU_AMI_ID, "architecture": "x86_64",
                    "name": name, "ownerId": a.get("owners", ["099720109477"])[0],
                    "rootDeviceName": "/dev/sda1", "virtualizationType": "hvm"}, []
        raise MockGapError(
            f"PlanMocks has no answer for the call {function!r}: add a realistic one in "
            "dhakacart_infra/plan/mocks.py (PlanMocks.call)."
        )

    def _resource_id(self, typ: str, name: str) -> str:
        h = _stable_hex(typ, name)
        prefixes = {
            "aws:ec2/vpc:Vpc": "vpc-", "aws:ec2/subnet:Subnet": "subnet-",
            "aws:ec2/securityGroup:SecurityGroup": "sg-", "aws:ec2/internetGateway:InternetGateway": "igw-",
            "aws:ec2/routeTable:RouteTable": "rtb-", "aws:ec2/instance:Instance": "i-",
            "aws:ec2/eip:Eip": "eipalloc-", "aws:ec2/natGateway:NatGateway": "nat-",
            "aws:ec2/flowLog:FlowLog": "fl-", "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
            "aws:ec2/networkAcl:NetworkAcl": "acl-",
        }
        if typ in prefixes:
            return prefixes[typ] + h
        if typ == "aws:kms/key:Key":
            return f"{h[:8]}-{h[8:12]}-4{h[12:15]}-8{h[:3]}-{h[3:15]}"
        return f"{name}-{h[:7]}" if not typ.startswith("pulumi:providers:") else f"{h[:8]}-provider"

    def _extra_state(self, typ: str, name: str, inputs: dict, rid: str) -> dict[str, Any]:
        region, account = self.region, MOCK_ACCOUNT_ID
        service = typ.split(":")[1].split("/")[0] if typ.startswith("aws:") else ""
        extra: dict[str, Any] = {}
        if typ.startswith("aws:"):
            physical = inputs.get("name") or rid
            extra["arn"] = f"arn:aws:{service}:{region}:{account}:{typ.split(':')[-1].lower()}/{physical}"
            extra["tagsAll"] = inputs.get("tags", {})
        if typ == "aws:ec2/vpc:Vpc":
            extra.update(defaultSecurityGroupId=f"sg-{rid[4:]}", mainRouteTableId=f"rtb-{rid[4:]}",
                         defaultNetworkAclId=f"acl-{rid[4:]}")
        elif typ == "aws:ec2/eip:Eip":
            n = int(rid[-4:], 16)
            extra.update(publicIp=f"13.232.{n % 250 + 1}.{n // 250 % 250 + 1}", allocationId=rid,
                         publicDns=f"ec2-13-232-x.{region}.compute.amazonaws.com")
        elif typ == "aws:ec2/instance:Instance":
            extra.update(privateIp="10.0.0.10", privateDns=f"ip-10-0-0-10.{region}.compute.internal",
                         primaryNetworkInterfaceId=f"eni-{rid[2:]}", instanceState="running")
        elif typ == "aws:lb/loadBalancer:LoadBalancer":
            lb = inputs.get("name") or rid
            extra.update(arn=f"arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/net/{lb}/{rid[-16:]}",
                         dnsName=f"{lb}-{_stable_hex(lb, length=16)}.elb.{region}.amazonaws.com",
                         zoneId="ZVDDRBQ08TROA")  # the NLB hosted zone of ap-south-1
        elif typ == "aws:lb/targetGroup:TargetGroup":
            group = inputs.get("name") or rid
            extra["arn"] = f"arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/{group}/{rid[-16:]}"
        elif typ == "aws:autoscaling/group:Group":
            group = inputs.get("name") or rid
            extra.update(name=group, arn=f"arn:aws:autoscaling:{region}:{account}:autoScalingGroup:"
                         f"{_stable_hex(group, length=8)}:autoScalingGroupName/{group}")
        elif typ == "aws:ec2/launchTemplate:LaunchTemplate":
            extra["latestVersion"] = 1
        elif typ == "aws:rds/instance:Instance":
            ident = inputs.get("identifier") or rid
            address = f"{ident}.c{_stable_hex(ident, length=11)}.{region}.rds.amazonaws.com"
            port = int(inputs.get("port") or 5432)
            extra.update(address=address, port=port, endpoint=f"{address}:{port}",
                         resourceId=f"db-{rid.upper()}", hostedZoneId="Z2VFMSZA74J7XZ", identifier=ident)
        elif typ == "aws:kms/key:Key":
            extra.update(keyId=rid, arn=f"arn:aws:kms:{region}:{account}:key/{rid}")
        elif typ == "aws:iam/role:Role":
            # Like the engine, an auto-named role gets a physical name (RolePolicyAttachment needs it).
            role_name = inputs.get("name") or f"{inputs.get('namePrefix') or ''}{rid}"
            extra.update(name=role_name, arn=f"arn:aws:iam::{account}:role/{role_name}",
                         uniqueId=f"AROA{rid.upper()}")
        elif typ == "aws:iam/instanceProfile:InstanceProfile":
            profile_name = inputs.get("name") or rid  # auto-named like a role (EC2 refers to it by name)
            extra.update(name=profile_name, arn=f"arn:aws:iam::{account}:instance-profile/{profile_name}")
        elif typ == "aws:iam/policy:Policy":
            extra["arn"] = f"arn:aws:iam::{account}:policy/{inputs.get('name') or rid}"
        elif typ == "aws:s3/bucketV2:BucketV2" or typ == "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket") or rid
            extra.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}",
                         bucketDomainName=f"{bucket}.s3.amazonaws.com",
                         bucketRegionalDomainName=f"{bucket}.s3.{region}.amazonaws.com")
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            extra["arn"] = f"arn:aws:logs:{region}:{account}:log-group:{inputs.get('name') or rid}"
        elif typ == "aws:route53/record:Record":
            # Route 53 answers with the record's name as given (lower case, no trailing dot).
            fqdn = str(inputs.get("name") or "").rstrip(".").lower()
            extra.update(fqdn=fqdn, name=fqdn)
            extra.pop("arn", None)  # a record has no ARN
        elif typ == "aws:ssm/parameter:Parameter":
            extra["arn"] = f"arn:aws:ssm:{region}:{account}:parameter{inputs.get('name') or '/' + rid}"
        elif typ == "aws:rds/subnetGroup:SubnetGroup" or typ == "aws:rds/parameterGroup:ParameterGroup":
            extra["name"] = inputs.get("name") or rid
        elif typ in ("random:index/randomPassword:RandomPassword", "random:index/randomString:RandomString"):
            length = int(inputs.get("length") or 32)
            extra["result"] = ("Mock" + _stable_hex(typ, name, length=64))[:length]
            extra["bcryptHash"] = "$2a$10$" + _stable_hex("bcrypt", name, length=53)
        elif typ == "random:index/randomId:RandomId":
            h = _stable_hex(typ, name, length=int(inputs.get("byteLength") or 8) * 2)
            extra.update(hex=h, dec=str(int(h, 16)), b64Std="bW9jaw==", b64Url="bW9jaw")
        elif typ == "random:index/randomBytes:RandomBytes":
            extra.update(base64="bW9jay1yYW5kb20tYnl0ZXMtZm9yLXBsYW4=", hex=_stable_hex(typ, name, length=64))
        elif typ == "tls:index/privateKey:PrivateKey":
            private_pem, public_pem = seeded_rsa_pem(name, int(inputs.get("rsaBits") or 2048))
            extra.update(privateKeyPem=private_pem, privateKeyPemPkcs8=private_pem, publicKeyPem=public_pem)
        elif typ.startswith("kubernetes:"):
            extra.update(self._kubernetes_state(typ, name, inputs))
        elif typ.startswith("pulumi-python:dynamic"):
            producer = DYNAMIC_RESOURCE_OUTPUTS.get(typ)
            if producer is None:
                raise MockGapError(
                    f"No mock outputs for dynamic resource type {typ!r}: register them with "
                    "an entry in dhakacart_infra/plan/dynamic_outputs.py."
                )
            extra.update(producer(name, inputs))
            extra.pop("__provider", None)
        return extra

    @staticmethod
    def _kubernetes_state(typ: str, name: str, inputs: dict) -> dict[str, Any]:
        if typ == "kubernetes:helm.sh/v3:Release":
            release_name = inputs.get("name") or name
            namespace = inputs.get("namespace") or "default"
            return {"name": release_name, "status": {
                "name": release_name, "namespace": namespace, "status": "deployed", "revision": 1,
                "chart": inputs.get("chart"), "version": inputs.get("version"),
            }}
        metadata = dict(inputs.get("metadata") or {})
        # The provider auto-names objects without a name: name plus a random suffix.
        metadata.setdefault("name", f"{name}-{_stable_hex(name, length=8)}")
        metadata.setdefault("uid", _stable_hex("uid", typ, name, length=32))
        kind = typ.rsplit(":", 1)[-1]
        cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding", "ClusterIssuer",
                          "CustomResourceDefinition", "StorageClass", "PersistentVolume"}
        if kind not in cluster_scoped:
            metadata.setdefault("namespace", "default")
        state: dict[str, Any] = {"metadata": metadata}
        if kind == "Service":
            spec = dict(inputs.get("spec") or {})
            spec.setdefault("clusterIP", "10.43.0." + str(int(_stable_hex(name, length=2), 16) % 250 + 2))
            state["spec"] = spec
        return state


class RecordingMonitor(MockMonitor):
    """A MockMonitor that also keeps each registration's request (see RecordedResource)."""

    def __init__(self, mocks: PlanMocks) -> None:
        super().__init__(mocks)
        self.plan_mocks = mocks
        self.records: dict[str, RecordedResource] = {}
        self.order: list[str] = []

    def RegisterResource(self, request):  # gRPC method name
        if request.type != "pulumi:pulumi:Stack":
            self.plan_mocks.expect_secret_outputs(
                request.type, request.name, list(request.additionalSecretOutputs)
            )
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        if request.type == "pulumi:providers:aws":
            self.plan_mocks.remember_aws_provider(response.urn, rpc.deserialize_properties(request.object))
        record = RecordedResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent,
            provider=request.provider,
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            inputs=rpc.deserialize_properties(request.object),
            protect=bool(request.protect),
            delete_before_replace=bool(request.deleteBeforeReplace),
            ignore_changes=list(request.ignoreChanges),
            additional_secret_outputs=list(request.additionalSecretOutputs),
            id=response.id or None,
            state=self.resources[response.urn].state if response.urn in self.resources else {},
            aliases=[json_format.MessageToDict(alias) for alias in request.aliases],
        )
        self.records[response.urn] = record
        self.order.append(response.urn)
        return response

    def RegisterResourceOutputs(self, request):  # gRPC method name
        if request.urn in self.records:
            self.records[request.urn].outputs = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)


def resolve(value: Any) -> Any:
    """Waits for an Input (outputs nested anywhere) and returns plain data with secrets wrapped."""

    async def _resolve(v: Any) -> Any:
        if isinstance(v, pulumi.Output):
            inner = await v.future(with_unknowns=True)
            secret = await v.is_secret()
            plain = await _resolve(inner)
            return rpc.wrap_rpc_secret(plain) if secret else plain
        if hasattr(v, "__await__"):
            return await _resolve(await v)
        if isinstance(v, dict):
            return {k: await _resolve(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [await _resolve(x) for x in v]
        return v

    return _sync_await(_resolve(value))


def to_json(value: Any, mask: str = "[secret]") -> str:
    return json.dumps(mask_secrets(value, mask), indent=2, sort_keys=True, default=str)

"""Names that more than one part of the platform must agree on, defined once.

The program creates these objects, the alerts and dashboards select them, the ops tool and the
runbook's commands address them, and the stack outputs hand them to operators. A name that is
written twice drifts; so every one of them is imported from here (tests/infra/test_names.py looks
for copies).
"""

from __future__ import annotations

from enum import StrEnum

PROJECT = "dhakacart"

# Kubernetes namespaces.
SHOP_NAMESPACE = "dhakacart"
MONITORING_NAMESPACE = "monitoring"
# node-exporter alone needs the host's namespaces and filesystem, so it gets a namespace of its own
# and `monitoring` can enforce a stricter Pod Security level than node-exporter allows.
NODE_EXPORTER_NAMESPACE = "monitoring-node-exporter"
CERT_MANAGER_NAMESPACE = "cert-manager"
KUBE_SYSTEM_NAMESPACE = "kube-system"
CLUSTER_AUTOSCALER_NAMESPACE = "cluster-autoscaler"
SYSTEM_UPGRADE_NAMESPACE = "system-upgrade"  # the system-upgrade-controller's release manifest makes it
KURED_NAMESPACE = "kured"
# The EBS CSI driver: its controller (no host access) apart from its node plugin, which must run
# privileged to mount volumes on the host, so the controller's namespace can enforce `restricted`.
EBS_CSI_NAMESPACE = "ebs-csi"
EBS_CSI_NODE_NAMESPACE = "ebs-csi-node"
# The pod identity webhook (k8s/pod_identity.py), which gives pods the AWS role their ServiceAccount
# names; it only looks at pods with this label, and a labelled pod cannot start without it.
POD_IDENTITY_NAMESPACE = "pod-identity"
AWS_IDENTITY_POD_LABEL = {"dhakacart.io/aws-identity": "true"}
# The ServiceAccounts that have an AWS role (aws/workload_role.py trusts exactly these).
EBS_CSI_CONTROLLER_SERVICE_ACCOUNT = "ebs-csi-controller-sa"  # the chart's default name
CLUSTER_AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler"
LOKI_SERVICE_ACCOUNT = "loki"  # the chart's default: the release's name
# The StorageClasses (k8s/storage.py): the cluster's default, whose volumes go with their claim,
# and the one every volume of the platform's own data uses, whose volumes outlive their claim.
DEFAULT_STORAGE_CLASS = "gp3"
DATA_STORAGE_CLASS = "gp3-retain"

# The shop's workloads: app.kubernetes.io/name and the component of each Deployment / Job.
SHOP_APP_NAME = "dhakacart"
WEB_COMPONENT = "web"
API_COMPONENT = "api"
MIGRATION_COMPONENT = "migrate"


def shop_workload_name(component: str) -> str:
    """The name of the shop's Deployment, Service, autoscaler and disruption budget for a component."""
    return f"{SHOP_APP_NAME}-{component}"


# Ports the shop's containers listen on (app/gunicorn.conf.py reads PORT and METRICS_PORT).
SHOP_APP_PORT = 8000
SHOP_METRICS_PORT = 9102
SHOP_METRICS_PORT_NAME = "metrics"
POSTGRES_PORT = 5432
KUBERNETES_API_PORT = 6443
# Traefik's NodePorts on every node that runs it; the load balancer forwards 80 and 443 to them.
HTTP_NODE_PORT = 30080
HTTPS_NODE_PORT = 30443


class StackOutput(StrEnum):
    """Every `pulumi stack output` the program exports; the ops tool reads them by these names."""

    ENVIRONMENT = "environment"
    REGION = "region"
    VPC_ID = "vpcId"
    INGRESS_ADDRESSES = "ingressAddresses"
    LOAD_BALANCER_DNS_NAME = "loadBalancerDnsName"
    SSM_START_SESSION_COMMAND = "ssmStartSessionCommand"
    DATABASE_ENDPOINT = "databaseEndpoint"
    DATABASE_PORT = "databasePort"
    KUBECONFIG = "kubeconfig"
    STOREFRONT_URL = "storefrontUrl"
    API_URL = "apiUrl"
    NAMESPACE = "namespace"
    GRAFANA_URL = "grafanaUrl"
    GRAFANA_ADMIN_PASSWORD_COMMAND = "grafanaAdminPasswordCommand"  # noqa: S105 - an output name
    DATABASE_INSTANCE_ID = "databaseInstanceId"
    DATABASE_SUBNET_GROUP = "databaseSubnetGroup"
    DATABASE_PARAMETER_GROUP = "databaseParameterGroup"
    DATABASE_SECURITY_GROUP_ID = "databaseSecurityGroupId"
    DATABASE_KMS_KEY_ARN = "databaseKmsKeyArn"
    MANUAL_SNAPSHOT_RETENTION_DAYS = "manualSnapshotRetentionDays"
    SNAPSHOT_EXPORT_BUCKET = "snapshotExportBucket"
    SNAPSHOT_EXPORT_ROLE_ARN = "snapshotExportRoleArn"
    SNAPSHOT_EXPORT_KMS_KEY_ARN = "snapshotExportKmsKeyArn"
    # The cluster (issue 13): where K3s keeps its etcd snapshots, its servers and its agents' group.
    CLUSTER_NAME = "clusterName"
    KUBERNETES_API_URL = "kubernetesApiUrl"
    ETCD_SNAPSHOT_BUCKET = "etcdSnapshotBucket"
    ETCD_SNAPSHOT_FOLDER = "etcdSnapshotFolder"
    SERVER_INSTANCE_IDS = "serverInstanceIds"
    AGENT_GROUP_NAME = "agentGroupName"
    # Recovery drills (issue 15): the topic their "overdue" alarms notify ("" when drillMaxAgeDays is 0).
    DRILL_ALARM_TOPIC_ARN = "drillAlarmTopicArn"
    # What `ops drill etcd` launches its scratch server with (aws/etcd_drill.py).
    K3S_VERSION = "clusterK3sVersion"
    K3S_AMI_ID = "k3sAmiId"
    ETCD_DRILL_SUBNET_ID = "etcdDrillSubnetId"
    ETCD_DRILL_SECURITY_GROUP_ID = "etcdDrillSecurityGroupId"
    ETCD_DRILL_INSTANCE_PROFILE = "etcdDrillInstanceProfile"
    ETCD_DRILL_TOKEN_PARAMETER = "etcdDrillTokenParameter"  # noqa: S105 - an output name
    # The managed policy to attach to the role that runs the drills (aws/drill_runner.py).
    DRILL_RUNNER_POLICY_ARN = "drillRunnerPolicyArn"
    # Volumes (issue 14): the key that encrypts every EBS volume the CSI driver creates.
    VOLUME_KMS_KEY_ARN = "volumeKmsKeyArn"


# Recovery drills (issue 15): `ops drill <name>` publishes DRILL_SUCCEEDED_METRIC under this namespace
# with the dimensions below; the DrillAlarms component (aws/drill_alarms.py) alarms on its absence.
DRILL_METRIC_NAMESPACE = "DhakaCart/Drills"
DRILL_SUCCEEDED_METRIC = "DrillSucceeded"
DRILL_STACK_DIMENSION = "Stack"
DRILL_NAME_DIMENSION = "Drill"
DATABASE_DRILL = "database"
ETCD_DRILL = "etcd"
DRILLS = (DATABASE_DRILL, ETCD_DRILL)
# The tag on everything a drill creates (its value: the drill), which the drill runner's IAM policy
# (aws/drill_runner.py) requires before it may change, delete or terminate anything.
DRILL_TAG = "dhakacart-drill"
# The SSM documents the drills use: the database check's port forward, the etcd drill's count.
SSM_PORT_FORWARD_DOCUMENT = "AWS-StartPortForwardingSessionToRemoteHost"
SSM_SHELL_DOCUMENT = "AWS-RunShellScript"

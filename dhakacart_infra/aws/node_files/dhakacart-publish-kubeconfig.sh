#!/bin/bash
# Waits for this server's API, then stores an admin kubeconfig addressed to the cluster's stable
# endpoint (the load balancer, not 127.0.0.1) in SSM Parameter Store as a SecureString; Pulumi
# reads it back. Every server publishes (at boot and whenever K3s rewrites k3s.yaml), so the
# parameter always comes from a live server; its first line names the cluster and the server,
# so Pulumi never takes a replaced server's or another cluster's kubeconfig.
set -euo pipefail
# shellcheck source=/dev/null
. /etc/dhakacart/node.env
for _ in $(seq 1 60); do
  if k3s kubectl get --raw /readyz >/dev/null 2>&1; then break; fi
  sleep 5
done
k3s kubectl get --raw /readyz >/dev/null
token=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60")
instance_id=$(curl -sf -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id)
umask 077
{
  echo "# dhakacart-k3s: cluster=$CLUSTER_FINGERPRINT server=$instance_id"
  sed "s#https://127.0.0.1:6443#$API_URL#" /etc/rancher/k3s/k3s.yaml
} > /run/k3s-public.yaml
# Intelligent-Tiering: standard tier (free) while the kubeconfig fits in 4 KB, advanced above.
/snap/bin/aws ssm put-parameter --region "$REGION" --name "$KUBECONFIG_PARAMETER" --type SecureString \
  --tier Intelligent-Tiering --overwrite --value "file:///run/k3s-public.yaml" >/dev/null
rm -f /run/k3s-public.yaml

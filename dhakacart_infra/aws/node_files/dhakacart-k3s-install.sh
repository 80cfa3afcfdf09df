#!/bin/bash
# Installs the pinned K3s release as this node's role (server or agent). Every value comes from
# /etc/dhakacart/node.env, which cloud-init writes from the Pulumi program; K3s's own settings,
# the tokens among them, are in /etc/rancher/k3s/config.yaml (mode 0600), never on a command line.
set -euo pipefail
# shellcheck source=/dev/null
. /etc/dhakacart/node.env

metadata() {
  local token
  token=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60")
  curl -sf -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
}

drop_ins=/etc/rancher/k3s/config.yaml.d
install -d -m 0700 "$drop_ins"
# K3s runs no cloud provider here, so the node says which zone it is in: the shop's topology
# spread constraints and the zone-loss analysis rely on this label.
zone=$(metadata placement/availability-zone)
instance_id=$(metadata instance-id)
umask 077
printf 'node-label:\n  - topology.kubernetes.io/region=%s\n  - topology.kubernetes.io/zone=%s\n' \
  "$REGION" "$zone" > "$drop_ins/20-topology.yaml"
# The EC2 identity of the node, for the EBS CSI driver's node plugin, which cannot reach the
# metadata service (hop limit 1) and reads the instance from the Node object instead.
printf 'kubelet-arg+:\n  - provider-id=aws:///%s/%s\n' "$zone" "$instance_id" > "$drop_ins/30-provider-id.yaml"

if [ "$DHAKACART_ROLE" = server ]; then
  # The key the API server signs ServiceAccount tokens with: the same on every server, and the one
  # whose public half the issuer publishes for STS (per-pod AWS identity).
  for _ in $(seq 1 10); do
    if /snap/bin/aws ssm get-parameter --region "$REGION" --name "$SERVICE_ACCOUNT_KEY_PARAMETER" \
      --with-decryption --query Parameter.Value --output text > "$SERVICE_ACCOUNT_SIGNING_KEY.new"; then
      mv "$SERVICE_ACCOUNT_SIGNING_KEY.new" "$SERVICE_ACCOUNT_SIGNING_KEY"
      break
    fi
    sleep 10
  done
  test -s "$SERVICE_ACCOUNT_SIGNING_KEY"
  # Only the first server may start a new cluster, and only when no server answers at the
  # registration address: a replaced first server joins the running cluster instead of
  # splitting it. Every other server waits for the cluster and joins it.
  if [ "$MAY_INITIALISE" = true ] && ! curl -skf --max-time 5 "$REGISTRATION_URL/ping" >/dev/null; then
    echo "cluster-init: true" > "$drop_ins/10-join.yaml"
  else
    for _ in $(seq 1 120); do
      if curl -skf --max-time 5 "$REGISTRATION_URL/ping" >/dev/null; then break; fi
      sleep 5
    done
    echo "server: \"$REGISTRATION_URL\"" > "$drop_ins/10-join.yaml"
  fi
fi

for _ in $(seq 1 10); do
  if curl -sfL https://get.k3s.io -o /run/k3s-install.sh; then break; fi
  sleep 10
done
INSTALL_K3S_VERSION="$K3S_VERSION" sh /run/k3s-install.sh "$DHAKACART_ROLE"

"""Reboots: kured from its official chart, one node at a time, inside the maintenance window, never
while the shop suffers; proven against the chart's rendering (its recorded facts)."""

from __future__ import annotations

from dhakacart_infra.charts import check
from dhakacart_infra.k8s import reboots
from dhakacart_infra.k8s.alerts import ALERT_RULES, SHOP_SUFFERING_ALERTS


def kured_pod(plan) -> dict:
    (pod,) = [p for p in check.stack_facts(plan).pods() if p["namespace"] == "kured"]
    return pod


def args_of(pod) -> list[str]:
    (container,) = pod["containers"]
    return container["args"]


def test_kured_runs_on_every_node_one_reboot_at_a_time(stack_plan):
    pod = kured_pod(stack_plan)
    assert pod["kind"] == "DaemonSet" and pod["tolerations"] == [{"operator": "Exists"}]
    args = args_of(pod)
    assert "--concurrency=1" in args and "--lock-ttl=2h" in args
    assert not any(a.startswith("--force-reboot") for a in args)  # a refused drain means no reboot


def test_reboots_only_in_the_maintenance_window_dhaka_time(run_stack, stack_plan):
    args = args_of(kured_pod(stack_plan))
    assert {"--start-time=02:00", "--end-time=05:00", "--time-zone=Asia/Dhaka"} <= set(args)
    assert [a for a in args if a.startswith("--reboot-days=")] == [
        f"--reboot-days={d}" for d in ("mo", "tu", "we", "th", "fr", "sa", "su")
    ]


def test_a_firing_shop_alert_holds_every_reboot(stack_plan):
    args = args_of(kured_pod(stack_plan))
    assert f"--prometheus-url={reboots.PROMETHEUS_URL}" in args
    assert f"--alert-filter-regexp={reboots.blocking_alerts_regexp()}" in args
    assert "--alert-filter-match-only=true" in args and "--alert-firing-only=true" in args
    names = {rule["alert"] for rule in ALERT_RULES} | {"DhakaCartWebDown"}
    assert set(SHOP_SUFFERING_ALERTS) <= names


def test_the_gate_asks_the_prometheus_service_the_chart_really_makes(stack_plan):
    services = {
        s["name"]: s
        for s in check.stack_facts(stack_plan).services()
        if s.get("namespace", "monitoring") == "monitoring"
    }
    assert reboots.PROMETHEUS_URL.split("//")[1].split(".")[0] in services


def test_kured_is_privileged_only_in_its_own_namespace_and_kept_from_the_metadata_service(stack_plan):
    namespace = stack_plan.one("kubernetes:core/v1:Namespace", "reboots-namespace").revealed()
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    release = stack_plan.one("kubernetes:helm.sh/v3:Release", "reboots-kured")
    policy = stack_plan.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "reboots-deny-instance-metadata")
    assert stack_plan.waits_for(release, policy)


def test_the_runbook_names_exactly_what_the_code_deploys():
    from pathlib import Path

    from dhakacart_infra.k8s import k3s_upgrades
    from dhakacart_infra.names import KURED_NAMESPACE, SYSTEM_UPGRADE_NAMESPACE

    runbook = (Path(__file__).resolve().parents[3] / "docs" / "RUNBOOK.md").read_text()
    upgrades = runbook.split("## K3s upgrades\n", 1)[1].split("\n## ", 1)[0]
    reboot = runbook.split("## Kernel reboots\n", 1)[1].split("\n## ", 1)[0]
    assert f"kubectl -n {SYSTEM_UPGRADE_NAMESPACE} get plans" in upgrades
    assert (
        f"kubectl -n {SYSTEM_UPGRADE_NAMESPACE} scale deployment/system-upgrade-controller --replicas=0"
        in upgrades
    )
    assert k3s_upgrades.SERVICE_ACCOUNT == "system-upgrade"  # the release manifest's, which the Plans name
    assert f"kubectl -n {KURED_NAMESPACE} annotate daemonset {reboots.RELEASE_NAME}" in reboot
    assert all(f"`{alert}`" in reboot for alert in SHOP_SUFFERING_ALERTS)
    assert f"after {int(reboots.LOCK_TTL.rstrip('h'))} hours (`lockTtl`)" in reboot
    assert f"every {int(reboots.CHECK_PERIOD.rstrip('m'))} minutes" in reboot

"""The Pod Security Standards (baseline and restricted, "latest") applied to recorded pod facts.

The controls the admission plugin checks, as https://kubernetes.io/docs/concepts/security/pod-security-standards/
lists them; each violation is a short sentence naming the container or field.
"""

from __future__ import annotations

from typing import Any

from ..k8s.labels import POD_SECURITY_LEVELS

BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
RESTRICTED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
LEVELS = POD_SECURITY_LEVELS


def _contexts(pod: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(c["name"], c.get("security_context") or {}) for c in pod["containers"]]


def baseline_violations(pod: dict[str, Any]) -> list[str]:
    found = [f"host{n} is shared" for n in pod.get("host_namespaces") or []]
    pod_context = pod.get("pod_security_context") or {}
    found += [
        f"volume {n} is a hostPath" for n, v in (pod.get("volumes") or {}).items() if v.startswith("hostPath")
    ]
    found += [
        f"sysctl {s['name']} is not a safe sysctl"
        for s in pod_context.get("sysctls") or []
        if s.get("name") not in SAFE_SYSCTLS
    ]
    for where, context in [("the pod", pod_context), *_contexts(pod)]:
        if context.get("privileged"):
            found.append(f"{where} is privileged")
        added = set((context.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES
        if added:
            found.append(f"{where} adds capabilities {sorted(added)}")
        if (context.get("seccompProfile") or {}).get("type") == "Unconfined":
            found.append(f"{where} runs seccomp-unconfined")
        if (context.get("appArmorProfile") or {}).get("type") == "Unconfined":
            found.append(f"{where} runs AppArmor-unconfined")
        if (context.get("seLinuxOptions") or {}).get("type", "") not in SELINUX_TYPES:
            found.append(f"{where} sets an SELinux type outside the allowed ones")
        if context.get("procMount") not in (None, "Default"):
            found.append(f"{where} sets procMount {context['procMount']}")
    found += [
        f"{c['name']} binds host ports {c['host_ports']}" for c in pod["containers"] if c.get("host_ports")
    ]
    return found


def restricted_violations(pod: dict[str, Any]) -> list[str]:
    found = baseline_violations(pod)
    pod_context = pod.get("pod_security_context") or {}
    found += [
        f"volume {n} is of type {v.split(':')[0]}"
        for n, v in (pod.get("volumes") or {}).items()
        if v.split(":")[0] not in RESTRICTED_VOLUMES
    ]
    if pod_context.get("runAsUser") == 0:
        found.append("the pod runs as uid 0")
    for name, context in _contexts(pod):
        if context.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name} does not forbid privilege escalation")
        if not context.get("runAsNonRoot", pod_context.get("runAsNonRoot")):
            found.append(f"{name} is not required to run as non-root")
        if context.get("runAsUser") == 0:
            found.append(f"{name} runs as uid 0")
        seccomp = (context.get("seccompProfile") or pod_context.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            found.append(f"{name} sets no RuntimeDefault or Localhost seccomp profile")
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            found.append(f"{name} does not drop ALL capabilities")
        if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
            found.append(f"{name} adds capabilities beyond NET_BIND_SERVICE")
    return found


def violations(pod: dict[str, Any], level: str) -> list[str]:
    if level not in LEVELS:
        raise ValueError(f"unknown Pod Security level {level!r}; one of {LEVELS}")
    if level == "privileged":
        return []
    return baseline_violations(pod) if level == "baseline" else restricted_violations(pod)


def strictest_level(pod: dict[str, Any]) -> str:
    for level in reversed(LEVELS):
        if not violations(pod, level):
            return level
    return "privileged"

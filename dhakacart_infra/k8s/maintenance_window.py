"""When the cluster may disrupt itself: K3s upgrades (system-upgrade-controller) and kernel reboots
(kured) run only inside this window, in the shop's own time zone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TIME_ZONE = "Asia/Dhaka"
WEEK = ("mo", "tu", "we", "th", "fr", "sa", "su")
# system-upgrade-controller spells days out in full; kured takes two letters.
_FULL_DAY = {
    "mo": "monday",
    "tu": "tuesday",
    "we": "wednesday",
    "th": "thursday",
    "fr": "friday",
    "sa": "saturday",
    "su": "sunday",
}


@dataclass(frozen=True)
class MaintenanceWindow:
    """What the stack configuration decides (maintenanceDays, maintenanceStart, maintenanceEnd)."""

    days: tuple[str, ...]
    start: str  # HH:MM, in TIME_ZONE
    end: str

    def for_upgrade_plan(self) -> dict[str, Any]:
        """An upgrade.cattle.io/v1 Plan's `window`."""
        return {
            "days": [_FULL_DAY[d] for d in self.days],
            "startTime": self.start,
            "endTime": self.end,
            "timeZone": TIME_ZONE,
        }

    def for_kured(self) -> dict[str, Any]:
        """kured's chart `configuration` keys for the window."""
        return {
            "rebootDays": list(self.days),
            "startTime": self.start,
            "endTime": self.end,
            "timeZone": TIME_ZONE,
        }

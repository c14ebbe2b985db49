"""Which maintenance window, if any, covers a device at a given time.

Windows come from the device, its site and its contract. A one-off window is
``start <= t < end``; a recurring one starts at each ``cron`` time, read in the site's
time zone (so "every Sunday 02:00" follows the customer's clock through DST), and
lasts ``duration``. Alarms inside a window are recorded but open no ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from weibao.inventory.model import DeviceContext, MaintenanceWindow


@dataclass(frozen=True)
class ScopedWindow:
    """A window and where it was declared: ``device``, ``site`` or ``contract``."""

    scope: str
    owner: str
    window: MaintenanceWindow
    tz: ZoneInfo

    def covers(self, at: datetime) -> bool:
        window = self.window
        if window.start is not None and window.end is not None:
            return window.start <= at < window.end
        if window.cron is None or window.duration is None:
            return False
        local = at.astimezone(self.tz)
        # The latest start at or before `at`; an earlier start cannot end later.
        start = croniter(window.cron, local + timedelta(seconds=1)).get_prev(datetime)
        return bool(start <= local < start + window.duration)

    def end_of(self, at: datetime) -> datetime | None:
        """When the occurrence of this window that covers ``at`` ends; None if none does."""
        if not self.covers(at):
            return None
        window = self.window
        if window.end is not None:
            return window.end
        assert window.cron is not None and window.duration is not None
        local = at.astimezone(self.tz)
        start = croniter(window.cron, local + timedelta(seconds=1)).get_prev(datetime)
        return start + window.duration

    def describe(self) -> str:
        return f"{self.scope} {self.owner}: {self.window.reason}"


def windows_of(ctx: DeviceContext) -> tuple[ScopedWindow, ...]:
    """Every window that applies to the device, most specific first."""
    tz = ZoneInfo(ctx.site.timezone)
    return tuple(
        [ScopedWindow("device", ctx.device.name, w, tz) for w in ctx.device.maintenance]
        + [ScopedWindow("site", ctx.site.name, w, tz) for w in ctx.site.maintenance]
        + [ScopedWindow("contract", ctx.contract.id, w, tz) for w in ctx.contract.maintenance]
    )


def suppressed_until(windows: tuple[ScopedWindow, ...], at: datetime) -> datetime:
    """The first moment at or after ``at`` that no window covers (back-to-back windows
    chain); a fault seen inside maintenance is the customer's problem from then on."""
    t = at
    for _ in range(100):  # bounded: windows are finite, but a config can chain many
        ends = [end for w in windows if (end := w.end_of(t)) is not None]
        if not ends:
            return t
        t = max(ends)
    return t


def window_at(windows: tuple[ScopedWindow, ...], at: datetime) -> ScopedWindow | None:
    for window in windows:
        if window.covers(at):
            return window
    return None

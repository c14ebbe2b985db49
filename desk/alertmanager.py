"""Prometheus Alertmanager's webhook (format version 4) as an alarm source.

Alertmanager's alerts are already classified, so they bypass the rule engine: each alert
becomes an :class:`~weibao.observation.Alarm` on the inventory device its labels name
(``alertmanager:`` section of the inventory, :mod:`weibao.inventory.alertmanager`), and
:meth:`desk.ingest.Ingestor.apply_external` applies it with the usual ticket logic. One
alert is one ticket (its fingerprint holds Alertmanager's own); a repeat adds evidence; a
resolved alert records the recovery and leaves the ticket for the engineer. An alert
that names no known device is answered and logged, never silently dropped.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from desk.auth import Principal
from desk.ingest import Ingestor
from weibao.clock import Clock
from weibao.inventory.alertmanager import AlertmanagerSettings
from weibao.inventory.model import Inventory
from weibao.logs import log_event
from weibao.observation import Alarm, Observation, Sample, Source, storable

PATH = "/api/v1/alertmanager"
MAX_ALERTS = 5000
SAMPLE = "alertmanager_alert"
# Alertmanager writes Go's zero time for "not set"; nothing real happened before this.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Column sizes of the ticket store (rule 200, title 500).
_MAX_NAME = 150
_PLAIN_FINGERPRINT = re.compile(r"[0-9A-Za-z_.:-]{1,40}")
"""What Alertmanager sends (16 hex digits); anything else is hashed before it names an id."""
_MAX_TITLE = 500

# -- the webhook's JSON --------------------------------------------------------------------


class _Lenient(BaseModel):
    # Fields Alertmanager adds in later versions must not cost an alert: ignore them.
    model_config = ConfigDict(extra="ignore", frozen=True)


class WebhookAlert(_Lenient):
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: AwareDatetime
    endsAt: AwareDatetime | None = None
    generatorURL: str = ""
    fingerprint: str = Field(default="", max_length=64)

    @field_validator("labels", "annotations")
    @classmethod
    def _storable(cls, pairs: dict[str, str]) -> dict[str, str]:
        # They become the ticket's labels, title and description: text the database
        # can hold (no NUL, no lone surrogate), refused here rather than failing there.
        for key, text in pairs.items():
            storable(key, "a label or annotation name")
            storable(text, "a label or annotation value")
        return pairs

    @field_validator("fingerprint")
    @classmethod
    def _storable_fingerprint(cls, fingerprint: str) -> str:
        return storable(fingerprint, "fingerprint")


class WebhookPayload(_Lenient):
    """What Alertmanager posts to a ``webhook_configs`` receiver."""

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    alerts: list[WebhookAlert] = Field(max_length=MAX_ALERTS)


class UnmatchedAlert(BaseModel):
    alertname: str
    status: str
    fingerprint: str
    tried: dict[str, str] = Field(description="the device labels present, with their values")
    reason: str


class AlertmanagerAnswer(BaseModel):
    firing: int = Field(description="firing alerts applied to a device's ticket")
    resolved: int = Field(description="resolved alerts recorded as recovery")
    unmatched: int = Field(description="alerts whose labels name no inventory device")
    tickets_opened: list[str]
    unmatched_alerts: list[UnmatchedAlert]


# -- labels -> device ----------------------------------------------------------------------


def strip_port(value: str) -> str:
    """``10.0.0.5:9100`` -> ``10.0.0.5``, ``[2001:db8::5]:9100`` -> ``2001:db8::5``."""
    text = value.strip()
    if text.startswith("["):
        return text[1:].partition("]")[0]
    try:
        ipaddress.ip_address(text)
        return text  # a bare IPv6 address: its colons are not a port
    except ValueError:
        pass
    host, sep, port = text.rpartition(":")
    return host if sep and port.isdigit() and ":" not in host else text


def _address_key(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))  # one spelling of 2001:DB8:0::5
    except ValueError:
        return text.lower().rstrip(".")


@dataclass(frozen=True)
class DeviceMatch:
    device: str | None
    tried: dict[str, str]
    reason: str = ""


class DeviceMatcher:
    """Finds the inventory device an alert's labels name: by name, then by address."""

    def __init__(self, inventory: Inventory, labels: list[str]) -> None:
        self._labels = labels
        self._names: dict[str, str] = {}
        self._addresses: dict[str, set[str]] = {}
        for ctx in inventory.contexts():
            device = ctx.device
            self._names[device.name.lower()] = device.name
            if device.address:
                self._addresses.setdefault(_address_key(device.address), set()).add(device.name)

    def match(self, labels: Mapping[str, str]) -> DeviceMatch:
        tried = {name: labels[name] for name in self._labels if labels.get(name)}
        shared: str | None = None
        for value in tried.values():
            host = strip_port(value)
            by_name = self._names.get(value.strip().lower()) or self._names.get(host.lower())
            if by_name is not None:
                return DeviceMatch(by_name, tried)
            owners = self._addresses.get(_address_key(host), set())
            if len(owners) == 1:
                return DeviceMatch(next(iter(owners)), tried)
            if owners:
                shared = host
        if shared is not None:
            reason = (
                f"address {shared} belongs to several devices (customers' networks overlap): "
                "add a 'device' label with the inventory name in the Prometheus target"
            )
        elif tried:
            reason = "no inventory device has this name or address"
        else:
            reason = f"the alert has none of the labels {', '.join(self._labels)}"
        return DeviceMatch(None, tried, reason)


# -- alerts -> alarms ----------------------------------------------------------------------


@dataclass
class Conversion:
    firing: list[Alarm] = field(default_factory=list)
    cleared: list[Alarm] = field(default_factory=list)
    unmatched: list[UnmatchedAlert] = field(default_factory=list)
    # The unmatched alerts as observations of the device they name, so they are listed
    # under GET /api/v1/devices/unknown like anything else reporting about a stranger.
    strangers: list[Observation] = field(default_factory=list)


def stranger(alert: WebhookAlert, found: DeviceMatch, now: datetime) -> Observation | None:
    """An unmatched alert as an observation of the device it names (its first device
    label's value). Its id is stable across Alertmanager's repeats, so a resend every
    ``repeat_interval`` is stored once. None where the label cannot name a device (a
    control character, say): the alert is still listed as unmatched in the answer."""
    alertname = (alert.labels.get("alertname") or "alert")[:_MAX_NAME]
    named = next(iter(found.tried.values()), "") or f"alertmanager:{alertname}"
    fingerprint = alert_fingerprint(alert)
    if not _PLAIN_FINGERPRINT.fullmatch(fingerprint):
        fingerprint = hashlib.sha256(fingerprint.encode("utf-8", "replace")).hexdigest()[:16]
    since = _observed_at(alert, now)
    try:
        return _stranger_observation(alert, named, fingerprint, since, alertname, found)
    except ValidationError:
        return None


def _stranger_observation(
    alert: WebhookAlert,
    named: str,
    fingerprint: str,
    since: datetime,
    alertname: str,
    found: DeviceMatch,
) -> Observation:
    return Observation(
        id=f"am-{fingerprint}-{alert.status}-{int(since.timestamp())}"[:64],
        device=named[:200],
        source=Source.alertmanager,
        time=since,
        samples=[
            Sample(
                name=SAMPLE,
                labels={"alertname": alertname},
                value=1.0 if alert.status == "firing" else 0.0,
            )
        ],
        meta={"alertname": alertname, "unmatched": found.reason[:500]},
    )


def alert_fingerprint(alert: WebhookAlert) -> str:
    """Alertmanager's fingerprint, or one made the same way from the labels if missing."""
    if alert.fingerprint:
        return alert.fingerprint
    text = "\x00".join(f"{k}\x00{v}" for k, v in sorted(alert.labels.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _observed_at(alert: WebhookAlert, now: datetime) -> datetime:
    """When it started (firing) or ended (resolved); never ahead of the desk's clock."""
    when = alert.endsAt if alert.status == "resolved" else alert.startsAt
    if when is None or when < _EPOCH:
        return now
    return min(when.astimezone(UTC), now)


def to_alarm(
    alert: WebhookAlert, device: str, settings: AlertmanagerSettings, now: datetime
) -> Alarm:
    alertname = (alert.labels.get("alertname") or "alert")[:_MAX_NAME]
    level = settings.level_for(alert.labels)
    title = alert.annotations.get("summary", "").strip() or alertname
    sample_labels = {"alertname": alertname}
    severity = alert.labels.get(settings.severity_label)
    if severity is not None:
        sample_labels[settings.severity_label] = severity
    return Alarm(
        fingerprint=f"alertmanager:{device}:{alertname}:{alert_fingerprint(alert)}",
        device=device,
        level=level,
        rule=f"alertmanager:{alertname}",
        title=title[:_MAX_TITLE],
        description=alert.annotations.get("description", "").strip(),
        labels=dict(alert.labels),
        evidence=[
            Sample(
                name=SAMPLE, labels=sample_labels, value=1.0 if alert.status == "firing" else 0.0
            )
        ],
        observed_at=_observed_at(alert, now),
    )


def convert(
    payload: WebhookPayload,
    matcher: DeviceMatcher,
    settings: AlertmanagerSettings,
    now: datetime,
    refusal: Callable[[str], str | None] = lambda _device: None,
) -> Conversion:
    """Sort a payload's alerts into firing and cleared alarms, and those matching nothing.

    ``refusal`` says why the caller's token may not speak for a device (its scope): such
    an alert is answered as unmatched, with that reason, and nothing of it is stored.
    """
    out = Conversion()
    for alert in payload.alerts:
        found = matcher.match(alert.labels)
        refused = refusal(found.device) if found.device is not None else None
        if refused or found.device is None:
            out.unmatched.append(
                UnmatchedAlert(
                    alertname=alert.labels.get("alertname", ""),
                    status=alert.status,
                    fingerprint=alert_fingerprint(alert),
                    tried=found.tried,
                    reason=refused or found.reason,
                )
            )
            # A stranger is listed among the unknown devices; a device outside the
            # token's scope is not ours to record anything of.
            observed = None if refused else stranger(alert, found, now)
            if observed is not None:
                out.strangers.append(observed)
            continue
        alarm = to_alarm(alert, found.device, settings, now)
        (out.firing if alert.status == "firing" else out.cleared).append(alarm)
    return out


# -- HTTP ----------------------------------------------------------------------------------


def alertmanager_router(
    ingestor: Ingestor,
    inventory: Inventory,
    clock: Clock,
    pusher: Any,
    logger: logging.Logger | None = None,
) -> APIRouter:
    """``POST /api/v1/alertmanager``; ``pusher`` is the dependency that admits push roles."""
    log = logger or logging.getLogger("weibao.desk.alertmanager")
    settings = inventory.alertmanager
    matcher = DeviceMatcher(inventory, settings.device_labels)
    router = APIRouter(tags=["alertmanager"])

    sites = {ctx.device.name: ctx.site.name for ctx in inventory.contexts()}

    @router.post(PATH, response_model=AlertmanagerAnswer)
    def receive_alerts(
        payload: WebhookPayload, principal: Principal = pusher
    ) -> AlertmanagerAnswer:
        """Alertmanager's webhook (version 4). Each alert goes to the device its labels
        name (see docs/alertmanager.md): firing opens a ticket or adds evidence, resolved
        records the recovery; alerts matching no device, or a device outside the token's
        scope, are listed in the answer."""

        def refusal(device: str) -> str | None:
            return principal.push_refusal(device, sites.get)

        result = convert(payload, matcher, settings, clock.now(), refusal)
        outcome = ingestor.apply_external(result.firing, result.cleared)
        if result.strangers:
            ingestor.ingest(result.strangers)
        for alert in result.unmatched:
            log_event(
                log,
                "alertmanager.unmatched",
                logging.WARNING,
                alertname=alert.alertname,
                status=alert.status,
                labels=",".join(f"{k}={v}" for k, v in alert.tried.items()),
                hint="add the device (or its address) to the inventory, or set "
                "alertmanager.device_labels (docs/alertmanager.md)",
            )
        log_event(
            log,
            "alertmanager.received",
            receiver=payload.receiver,
            firing=len(result.firing),
            resolved=len(result.cleared),
            unmatched=len(result.unmatched),
        )
        return AlertmanagerAnswer(
            firing=len(result.firing),
            resolved=len(result.cleared),
            unmatched=len(result.unmatched),
            tickets_opened=[t.number for t in outcome.opened],
            unmatched_alerts=result.unmatched,
        )

    return router

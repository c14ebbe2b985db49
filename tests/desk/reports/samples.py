"""Report models built by hand, as the builders would fill them, for the renderer tests.

The inspection report is 恒通物流's November: five devices (one of which never answered,
so it is 未知), two findings with tickets, two items carried over from October, an
expiring warranty and an unmanaged device. The quarterly statistics cover two customers.
``large_inspection`` scales the device list up to measure rendering time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from desk.reports.model import (
    CarriedOver,
    ClockCompliance,
    Company,
    ContractRef,
    DeviceAvailability,
    DeviceResult,
    Durations,
    EngineerStats,
    Evidence,
    EvidenceSample,
    Expiring,
    Figures,
    Finding,
    InspectionReport,
    InspectionSummary,
    Language,
    LevelCounts,
    Miss,
    Named,
    PartLine,
    Period,
    QuarterlyReport,
    QuarterPoint,
    Ranked,
    Recommendation,
    Satisfaction,
    Signer,
    Stat,
    TicketStats,
    TicketSummary,
    Unmanaged,
    UpsFigures,
)

CUSTOMER = "恒通物流"
OTHER_CUSTOMER = "瑞丰医药"
NEVER_ANSWERED = "ht-nas-01"
TICKETS = ("WB-2026-000012", "WB-2026-000015")
CARRIED = ("WB-2026-000003", "WB-2026-000007")

LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 40" width="120" height="40">'
    '<rect x="0" y="0" width="40" height="40" rx="6" fill="#1565c0"/>'
    '<path d="M8 12 L16 30 L20 18 L24 30 L32 12" stroke="#fff" stroke-width="3" fill="none"/>'
    '<text x="48" y="27" font-size="16" fill="#1565c0">HX</text></svg>'
)


def _utc(day: int, hour: int = 0, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def _company() -> Company:
    return Company(
        name="华信维保技术有限公司",
        address="上海市浦东新区张江路 88 号",
        phone="021-5080 1234",
        logo_svg=LOGO,
    )


def _contract() -> ContractRef:
    return ContractRef(
        id="HT-2026-001",
        name="恒通物流 IT 基础设施维保合同",
        start=date(2026, 1, 1),
        end=date(2026, 12, 31),
        service_manager="王建国",
        customer_contact="李明",
    )


def _devices() -> list[DeviceResult]:
    return [
        DeviceResult(
            name="ht-core-sw01",
            kind="switch",
            site="总部机房",
            vendor="Huawei",
            model="S5735-S48T4X",
            serial="2102351234567",
            address="10.20.0.1",
            warranty_end=date(2027, 6, 30),
            verdict="healthy",
            last_seen=_utc(30, 15, 55),
            figures=Figures(
                availability=1.0,
                inspections=8640,
                cpu=Stat(mean=0.12, peak=0.41),
                memory=Stat(mean=0.38, peak=0.44),
                hottest=Named(name="board", value=46.0),
                fans=4,
                fans_failed=0,
                power_supplies=2,
                power_supplies_failed=0,
                interface_errors_peak=0.0,
            ),
        ),
        DeviceResult(
            name="ht-fw-01",
            kind="firewall",
            site="总部机房",
            vendor="Hillstone",
            model="SG-6000-E3960",
            serial="HS3960A0042",
            address="10.20.0.2",
            warranty_end=date(2026, 12, 20),
            verdict="findings",
            last_seen=_utc(30, 15, 55),
            figures=Figures(
                availability=0.9987,
                inspections=8629,
                cpu=Stat(mean=0.23, peak=0.77),
                memory=Stat(mean=0.51, peak=0.63),
                hottest=Named(name="cpu", value=61.0),
                fans=3,
                fans_failed=0,
                power_supplies=2,
                power_supplies_failed=1,
            ),
            findings=[TICKETS[0]],
            evidence=[
                Evidence(
                    ticket=TICKETS[0],
                    level="II",
                    rule="psu_failed",
                    title="电源模块故障",
                    samples=[
                        EvidenceSample(
                            name="psu_ok", labels={"psu": "PSU2", "device": "ht-fw-01"}, value=0
                        )
                    ],
                    raw={
                        "show environment power": (
                            "Power  Status   Input   Output\n"
                            "PSU1   normal   220V    12V\n"
                            "PSU2   failure  0V      0V   <-- no input"
                        )
                    },
                )
            ],
        ),
        DeviceResult(
            name="ht-app-01",
            kind="server",
            site="总部机房",
            vendor="Dell",
            model="PowerEdge R750",
            serial="7XK2Q93",
            address="10.20.1.11",
            warranty_end=date(2028, 3, 31),
            verdict="healthy",
            last_seen=_utc(30, 15, 59),
            figures=Figures(
                availability=0.9999,
                inspections=43180,
                cpu=Stat(mean=0.31, peak=0.92),
                memory=Stat(mean=0.62, peak=0.81),
                fullest_storage=Named(name="/var", value=0.74),
                hottest=Named(name="CPU1 Temp", value=58.0),
            ),
        ),
        DeviceResult(
            name="ht-ups-01",
            kind="ups",
            site="仓储中心（嘉定）",
            vendor="APC",
            model="Smart-UPS SRT 6000",
            serial="AS2218123456",
            address="10.30.0.5",
            warranty_end=date(2026, 12, 15),
            verdict="findings",
            last_seen=_utc(30, 15, 50),
            figures=Figures(
                availability=0.9412,
                inspections=8130,
                ups=UpsFigures(
                    charge_min=0.35,
                    minutes_remaining_min=11.0,
                    on_battery_samples=42,
                    replace_battery=True,
                ),
            ),
            findings=[TICKETS[1]],
            evidence=[
                Evidence(
                    ticket=TICKETS[1],
                    level="I",
                    rule="ups_on_battery",
                    title="UPS 市电中断，电池供电",
                    samples=[
                        EvidenceSample(name="ups_on_battery", labels={}, value=1),
                        EvidenceSample(name="ups_charge_ratio", labels={}, value=0.35),
                    ],
                    raw={
                        "upsBasicOutputStatus.0": "onBattery(3)",
                        "upsAdvBatteryCapacity.0": "35",
                    },
                )
            ],
        ),
        DeviceResult(
            name=NEVER_ANSWERED,
            kind="storage",
            site="仓储中心（嘉定）",
            vendor="Synology",
            model="RS1221+",
            address="10.30.0.40",
            verdict="unknown",
            unknown_reason="整个周期内从未应答：SNMP 请求超时（10.30.0.40:161）",
            figures=Figures(inspections=0),
        ),
    ]


def inspection_report(language: Language = "zh") -> InspectionReport:
    """恒通物流's inspection report of November 2026."""
    return InspectionReport(
        number="XJ-HT-202611",
        language=language,
        generated_at=_utc(1, 0, 5, month=12),
        company=_company(),
        confidentiality="内部资料，仅限客户与服务方使用",
        customer=CUSTOMER,
        customer_code="HT",
        contracts=[_contract()],
        period=Period(start=date(2026, 11, 1), end=date(2026, 11, 30), label="2026-11"),
        inspection_dates=[date(2026, 11, d) for d in range(1, 31)],
        signers=[
            Signer(role="prepared", name="张伟", date=date(2026, 12, 1)),
            Signer(role="checked", name="王建国", date=date(2026, 12, 2)),
            Signer(role="approved", name=None, date=None),
            Signer(role="engineer", name="张伟", date=None),
            Signer(role="customer", name="李明", date=None),
        ],
        summary=InspectionSummary(devices=5, inspected=4, healthy=2, findings=2, unknown=1),
        tickets=TicketSummary(
            opened=LevelCounts(I=1, II=1, III=0, IV=0),
            resolved=LevelCounts(I=1, II=0, III=0, IV=0),
            still_open=LevelCounts(I=0, II=2, III=0, IV=0),
        ),
        devices=_devices(),
        findings=[
            Finding(
                ticket=TICKETS[0],
                device="ht-fw-01",
                level="II",
                rule="psu_failed",
                title="电源模块故障",
                detected_at=_utc(18, 2, 14),
                status="acknowledged",
                cause=None,
            ),
            Finding(
                ticket=TICKETS[1],
                device="ht-ups-01",
                level="I",
                rule="ups_on_battery",
                title="UPS 市电中断，电池供电",
                detected_at=_utc(22, 11, 3),
                status="resolved",
                recovered_at=_utc(22, 12, 40),
                resolved_at=_utc(22, 14, 0),
                cause="仓储中心市电线路检修，未提前通知",
            ),
        ],
        carried_over=[
            CarriedOver(
                ticket=CARRIED[0],
                device="ht-app-01",
                level="III",
                title="/var 使用率超过 90%",
                detected_at=_utc(14, 6, 0, month=10),
                status="closed",
                fixed=True,
                fixed_at=_utc(3, 9, 30),
            ),
            CarriedOver(
                ticket=CARRIED[1],
                device="ht-core-sw01",
                level="II",
                title="上联端口 CRC 错误增长",
                detected_at=_utc(27, 20, 45, month=10),
                status="on_site",
                fixed=False,
            ),
        ],
        expiring=[
            Expiring(kind="warranty", name="ht-ups-01", ends=date(2026, 12, 15), days_left=15),
            Expiring(kind="warranty", name="ht-fw-01", ends=date(2026, 12, 20), days_left=20),
            Expiring(kind="contract", name="HT-2026-001", ends=date(2026, 12, 31), days_left=31),
        ],
        unmanaged=[
            Unmanaged(
                device="ht-printer-07",
                source="snmp trap 10.30.0.77",
                first_seen=_utc(9, 3, 0),
                last_seen=_utc(29, 22, 10),
            )
        ],
        recommendations=[
            Recommendation(
                rule="ups_on_battery",
                title="UPS 市电中断，电池供电",
                devices=["ht-ups-01"],
                advice="电池剩余容量偏低且已提示更换，建议在保修到期前更换电池组并安排放电测试。",
            ),
            Recommendation(
                rule="psu_failed",
                title="电源模块故障",
                devices=["ht-fw-01"],
                advice="更换故障电源模块，并检查 PDU 输入回路，恢复双路供电冗余。",
            ),
        ],
    )


def large_inspection(devices: int = 500, language: Language = "zh") -> InspectionReport:
    """The same report with ``devices`` devices: every 25th has a finding, every 50th is unknown."""
    base = inspection_report(language)
    template = base.devices
    results: list[DeviceResult] = []
    for index in range(devices):
        model = template[(0, 2)[index % 2]] if index % 25 else template[1]
        if index % 50 == 49:
            model = template[4]
        results.append(
            model.model_copy(
                update={
                    "name": f"ht-dev-{index:03d}",
                    "address": f"10.40.{index // 250}.{index % 250 + 1}",
                    "figures": model.figures.model_copy(
                        update={"availability": None}
                        if model.verdict == "unknown"
                        else {"availability": 1.0 - (index % 97) / 1000}
                    ),
                }
            )
        )
    unknown = sum(1 for d in results if d.verdict == "unknown")
    findings = sum(1 for d in results if d.verdict == "findings")
    return base.model_copy(
        update={
            "devices": results,
            "summary": InspectionSummary(
                devices=devices,
                inspected=devices - unknown,
                healthy=devices - unknown - findings,
                findings=findings,
                unknown=unknown,
            ),
        }
    )


# --- the quarterly statistics -----------------------------------------------------------


def _compliance(measured: int, missed: int) -> ClockCompliance:
    met = measured - missed
    return ClockCompliance(
        measured=measured, met=met, missed=missed, ratio=met / measured if measured else None
    )


def _stats(
    scope: str, name: str, months: dict[str, LevelCounts], misses: tuple[int, int, int]
) -> TicketStats:
    by_level = LevelCounts(
        I=sum(m.I for m in months.values()),
        II=sum(m.II for m in months.values()),
        III=sum(m.III for m in months.values()),
        IV=sum(m.IV for m in months.values()),
    )
    total = by_level.total
    return TicketStats(
        scope=scope,  # type: ignore[arg-type]
        name=name,
        tickets=total,
        by_level=by_level,
        by_month=months,
        by_rule={"psu_failed": total // 4, "ups_on_battery": total // 5, "disk_full": total // 3},
        compliance={
            "response": _compliance(total, misses[0]),
            "onsite": _compliance(total - by_level.IV, misses[1]),
            "resolve": _compliance(total, misses[2]),
        },
        times={
            "acknowledge": Durations(count=total, mean_seconds=412.5, p90_seconds=1080.0),
            "arrive": Durations(count=total - by_level.IV, mean_seconds=3725.0, p90_seconds=6900),
            "resolve": Durations(count=total, mean_seconds=30250.0, p90_seconds=79200.0),
        },
        repeat_incidents=2,
        reopened=1,
        reopen_rate=1 / total,
        escalations=3,
        parts_used=2,
        rmas=1,
        satisfaction=Satisfaction(
            count=9, mean=4.56, distribution={"5": 6, "4": 2, "3": 1, "2": 0, "1": 0}
        ),
    )


def quarterly_report(language: Language = "zh") -> QuarterlyReport:
    """The company's statistics of 2026-Q4 over two customers."""
    ht_months = {
        "2026-10": LevelCounts(I=0, II=2, III=4, IV=1),
        "2026-11": LevelCounts(I=1, II=1, III=3, IV=2),
        "2026-12": LevelCounts(I=0, II=1, III=2, IV=1),
    }
    rf_months = {
        "2026-10": LevelCounts(I=1, II=0, III=2, IV=0),
        "2026-11": LevelCounts(I=0, II=1, III=1, IV=1),
        "2026-12": LevelCounts(I=0, II=0, III=3, IV=0),
    }
    all_months = {
        month: LevelCounts(
            I=ht_months[month].I + rf_months[month].I,
            II=ht_months[month].II + rf_months[month].II,
            III=ht_months[month].III + rf_months[month].III,
            IV=ht_months[month].IV + rf_months[month].IV,
        )
        for month in ht_months
    }
    due = _utc(22, 11, 23)
    return QuarterlyReport(
        number="TJ-ALL-2026Q4",
        language=language,
        generated_at=datetime(2027, 1, 1, 0, 10, tzinfo=UTC),
        company=_company(),
        confidentiality="内部资料，仅限客户与服务方使用",
        period=Period(start=date(2026, 10, 1), end=date(2026, 12, 31), label="2026-Q4"),
        totals=_stats("company", "华信维保技术有限公司", all_months, (1, 2, 1)),
        customers=[
            _stats("customer", CUSTOMER, ht_months, (1, 1, 1)),
            _stats("customer", OTHER_CUSTOMER, rf_months, (0, 1, 0)),
        ],
        contracts=[
            _stats("contract", "HT-2026-001", ht_months, (1, 1, 1)),
            _stats("contract", "RF-2026-003", rf_months, (0, 1, 0)),
        ],
        misses=[
            Miss(
                ticket=TICKETS[1],
                customer=CUSTOMER,
                contract="HT-2026-001",
                level="I",
                clock="response",
                due=due,
                met_at=due + timedelta(minutes=7),
                late_seconds=420.0,
                cause="值班工程师在机房，手机无信号",
            ),
            Miss(
                ticket=TICKETS[1],
                customer=CUSTOMER,
                contract="HT-2026-001",
                level="I",
                clock="resolve",
                due=_utc(22, 15, 3),
                met_at=_utc(22, 16, 0),
                late_seconds=3420.0,
                cause="备件从苏州调拨",
            ),
            Miss(
                ticket="WB-2026-000021",
                customer=OTHER_CUSTOMER,
                contract="RF-2026-003",
                level="II",
                clock="onsite",
                due=_utc(12, 3, 0, month=12),
                met_at=None,
                late_seconds=5400.0,
                cause=None,
            ),
        ],
        engineers=[
            EngineerStats(
                name="张伟",
                tickets=14,
                acknowledged=14,
                resolved=13,
                mean_acknowledge_seconds=380.0,
                mean_resolve_seconds=28800.0,
                misses=2,
                satisfaction=4.6,
            ),
            EngineerStats(
                name="刘洋",
                tickets=9,
                acknowledged=9,
                resolved=9,
                mean_acknowledge_seconds=455.0,
                mean_resolve_seconds=33100.0,
                misses=1,
                satisfaction=None,
            ),
        ],
        availability=[
            DeviceAvailability(
                device="ht-core-sw01",
                customer=CUSTOMER,
                contract="HT-2026-001",
                availability=1.0,
                service_availability=1.0,
            ),
            DeviceAvailability(
                device="ht-ups-01",
                customer=CUSTOMER,
                contract="HT-2026-001",
                availability=0.9412,
                service_availability=0.9633,
            ),
            DeviceAvailability(
                device=NEVER_ANSWERED,
                customer=CUSTOMER,
                contract="HT-2026-001",
                availability=None,
                service_availability=None,
            ),
            DeviceAvailability(
                device="rf-db-01",
                customer=OTHER_CUSTOMER,
                contract="RF-2026-003",
                availability=0.9991,
                service_availability=0.9995,
            ),
        ],
        top_devices=[Ranked(name="ht-ups-01", tickets=5), Ranked(name="rf-db-01", tickets=3)],
        top_rules=[Ranked(name="disk_full", tickets=9), Ranked(name="psu_failed", tickets=6)],
        parts=[
            PartLine(
                ticket=TICKETS[0],
                device="ht-fw-01",
                part_number="PSU-AC-450W",
                name="交流电源模块 450W",
                quantity=1,
                rma_number="RMA-HS-88231",
                rma_status="shipped",
            ),
            PartLine(
                ticket="WB-2026-000019",
                device="rf-db-01",
                part_number="HDD-1.2T-10K",
                name="1.2TB SAS 硬盘",
                quantity=2,
            ),
        ],
        trend=[
            QuarterPoint(
                label="2026-Q1",
                tickets=31,
                compliance={"response": 0.97, "onsite": 0.9, "resolve": 0.94},
                mean_resolve_seconds=36000.0,
            ),
            QuarterPoint(
                label="2026-Q2",
                tickets=27,
                compliance={"response": 1.0, "onsite": 0.93, "resolve": 0.96},
                mean_resolve_seconds=31000.0,
            ),
            QuarterPoint(
                label="2026-Q3",
                tickets=22,
                compliance={"response": 0.95, "onsite": None, "resolve": 0.91},
                mean_resolve_seconds=None,
            ),
            QuarterPoint(
                label="2026-Q4",
                tickets=28,
                compliance={"response": 27 / 28, "onsite": 22 / 24, "resolve": 27 / 28},
                mean_resolve_seconds=30250.0,
            ),
        ],
    )

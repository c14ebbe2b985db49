"""UPS-MIB (RFC 1628): the standard every UPS network card speaks, whatever its vendor.

On battery comes from upsOutputSource (battery = 5) when the agent has it, else from
upsSecondsOnBattery; "replace battery" from the well-known alarm upsAlarmBatteryBad in
the alarm table. Input voltage and frequency per input line, and the last self-test's
result (upsTestResultsSummary: a failed or aborted test is not ok; "in progress" and
"no test yet" give no sample).

Cards fill what they do not know with the type's largest value (4294967295, 2147483647)
or with -1; such a value is unknown, never a figure: no sample.
"""

from __future__ import annotations

from collections.abc import Sequence

from collector.driver import Depth
from collector.snmp.oid import Oid, format_index
from collector.snmp.readers.base import Options, ReadContext, Reading

UPS: Oid = (1, 3, 6, 1, 2, 1, 33, 1)
MANUFACTURER, MODEL = (*UPS, 1, 1, 0), (*UPS, 1, 2, 0)
BATTERY_STATUS, SECONDS_ON_BATTERY, MINUTES_REMAINING, CHARGE = (
    (*UPS, 2, c, 0) for c in (1, 2, 3, 4)
)
BATTERY_TEMPERATURE = (*UPS, 2, 7, 0)
OUTPUT_SOURCE = (*UPS, 4, 1, 0)
OUTPUT_LOAD = (*UPS, 4, 4, 1, 5)  # upsOutputPercentLoad per output line
ALARMS_PRESENT = (*UPS, 6, 1, 0)
ALARM_DESCR = (*UPS, 6, 2, 1, 2)
ALARM_BATTERY_BAD = (*UPS, 6, 3, 1)
INPUT_FREQUENCY, INPUT_VOLTAGE = (*UPS, 3, 3, 1, 2), (*UPS, 3, 3, 1, 3)  # 0.1 Hz, RMS volts
TEST_SUMMARY = (*UPS, 7, 3, 0)  # upsTestResultsSummary
TEST_RESULTS = {1: "passed", 2: "warning", 3: "failed", 4: "aborted"}  # 5, 6: no result
UNKNOWN = (2**31 - 1, 2**32 - 1)

SOURCE_BYPASS, SOURCE_BATTERY = 4, 5
BATTERY_LOW, BATTERY_DEPLETED = 3, 4
GETS = (
    MANUFACTURER,
    MODEL,
    BATTERY_STATUS,
    SECONDS_ON_BATTERY,
    MINUTES_REMAINING,
    CHARGE,
    BATTERY_TEMPERATURE,
    OUTPUT_SOURCE,
    ALARMS_PRESENT,
    TEST_SUMMARY,
)


class UpsOptions(Options):
    pass


class UpsReader:
    name = "ups"
    needs_entities = False

    def __init__(self, options: UpsOptions | None = None) -> None:
        self.options = options or UpsOptions()

    def gets(self) -> Sequence[Oid]:
        return GETS

    def walks(self, depth: Depth) -> Sequence[Oid]:
        return (OUTPUT_LOAD, ALARM_DESCR, INPUT_FREQUENCY, INPUT_VOLTAGE)

    def read(self, ctx: ReadContext) -> Reading:
        snap = ctx.snapshot
        reading = Reading()

        def number(oid: Oid) -> int | None:
            var = snap.get(oid)
            return known(var.number() if var is not None else None)

        source, seconds = number(OUTPUT_SOURCE), number(SECONDS_ON_BATTERY)
        if source is not None and source not in (1, 2):  # other, none: unknown
            reading.add("ups_on_battery", float(source == SOURCE_BATTERY))
            reading.add("ups_on_bypass", float(source == SOURCE_BYPASS))
        elif seconds is not None:
            reading.add("ups_on_battery", float(seconds > 0))
        status = number(BATTERY_STATUS)
        if status in (2, BATTERY_LOW, BATTERY_DEPLETED):
            reading.add("ups_battery_low", float(status != 2))
        charge = number(CHARGE)
        if charge is not None and 0 <= charge <= 100:
            reading.add("ups_battery_charge_ratio", charge / 100.0)
        minutes = number(MINUTES_REMAINING)
        if minutes is not None and minutes >= 0:
            reading.add("ups_battery_minutes_remaining", float(minutes))
        temperature = number(BATTERY_TEMPERATURE)
        if temperature is not None:
            reading.add("temperature_celsius", float(temperature), sensor="battery")
        for row, var in snap.column(OUTPUT_LOAD).items():
            load = known(var.number())
            if load is not None and load >= 0:
                reading.add("ups_load_ratio", load / 100.0, line=format_index(row))
        for row, var in snap.column(INPUT_VOLTAGE).items():
            volts = known(var.number())
            if volts is not None and volts >= 0:
                reading.add("ups_input_voltage_volts", float(volts), line=format_index(row))
        frequencies = [known(v.number()) for v in snap.column(INPUT_FREQUENCY).values()]
        first = next((f for f in frequencies if f is not None and f > 0), None)
        if first is not None:  # the lines of one input share one frequency
            reading.add("ups_input_frequency_hertz", first / 10.0)
        result = TEST_RESULTS.get(number(TEST_SUMMARY) or 0)
        if result is not None:  # a warning is the UPS's own "passed, with remarks"
            reading.add("ups_self_test_ok", float(result in ("passed", "warning")), result=result)
        alarms = number(ALARMS_PRESENT)
        if alarms is not None:
            reading.add("ups_alarms", float(alarms))
            bad = any(v.oid() == ALARM_BATTERY_BAD for v in snap.column(ALARM_DESCR).values())
            reading.add("ups_battery_replace", float(bad))
        for fact, oid in (("vendor", MANUFACTURER), ("model", MODEL)):
            ident = snap.get(oid)
            if ident is not None and ident.text():
                reading.facts[fact] = ident.text()
        return reading


def known(value: int | None) -> int | None:
    """None for the values cards write when they do not know: the type's maximum."""
    return None if value is None or value in UNKNOWN else value

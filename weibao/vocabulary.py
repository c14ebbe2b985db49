"""The sample names every source uses, declared as data.

A rule written for ``filesystem_usage_ratio`` works whether the agent, SNMP
(hrStorageTable) or SSH (``df -P``) measured it. ``docs/observations.md`` documents the
same list for people; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SampleSpec:
    name: str
    unit: str  # "ratio" (0..1), "seconds", "bytes", "celsius", "bool" (1/0), "count", ...
    labels: tuple[str, ...]
    help: str


VOCABULARY: tuple[SampleSpec, ...] = (
    SampleSpec("up", "bool", (), "1 when the source reached the device, 0 when it did not"),
    SampleSpec(
        "schedule_lag_seconds",
        "seconds",
        ("source",),
        "how late the collector started this inspection, skipped runs included",
    ),
    SampleSpec(
        "schedule_lag_ratio", "ratio", ("source",), "schedule_lag_seconds over the interval"
    ),
    SampleSpec("uptime_seconds", "seconds", (), "time since the device (re)started"),
    SampleSpec("cpu_usage_ratio", "ratio", (), "busy share of all CPUs, 0..1"),
    SampleSpec("cpu_iowait_ratio", "ratio", (), "share of CPU time waiting for I/O"),
    SampleSpec("load1", "count", (), "1-minute load average"),
    SampleSpec("memory_usage_ratio", "ratio", (), "used (not cache) share of memory"),
    SampleSpec("swap_usage_ratio", "ratio", (), "used share of swap"),
    SampleSpec("filesystem_usage_ratio", "ratio", ("mountpoint",), "used share of a filesystem"),
    SampleSpec(
        "filesystem_inodes_usage_ratio", "ratio", ("mountpoint",), "used share of its inodes"
    ),
    SampleSpec("interface_up", "bool", ("interface",), "operational status is up"),
    SampleSpec("interface_admin_up", "bool", ("interface",), "administratively enabled"),
    SampleSpec("interface_speed_bits", "bits/s", ("interface",), "negotiated speed"),
    SampleSpec(
        "interface_errors_rate", "1/s", ("interface", "direction"), "errored packets per second"
    ),
    SampleSpec(
        "interface_discards_rate", "1/s", ("interface", "direction"), "discarded packets per second"
    ),
    SampleSpec(
        "interface_bits_rate", "bits/s", ("interface", "direction"), "traffic, from octet counters"
    ),
    SampleSpec(
        "interface_utilization_ratio",
        "ratio",
        ("interface", "direction"),
        "traffic divided by the interface's speed",
    ),
    SampleSpec("temperature_celsius", "celsius", ("sensor",), "a temperature sensor"),
    SampleSpec("fan_ok", "bool", ("fan",), "the fan reports normal"),
    SampleSpec("power_supply_ok", "bool", ("psu",), "the power supply reports normal"),
    SampleSpec("raid_degraded", "bool", ("array",), "the array lost redundancy"),
    SampleSpec("raid_state", "state", ("array", "state"), "the array's state as text, value 1"),
    SampleSpec("disk_smart_ok", "bool", ("disk",), "SMART overall health passed"),
    SampleSpec("disk_ok", "bool", ("disk",), "the disk reports healthy (BMC, RAID, array)"),
    SampleSpec("cpu_ok", "bool", ("cpu",), "the processor reports healthy (BMC)"),
    SampleSpec("memory_module_ok", "bool", ("module",), "the memory module reports healthy"),
    SampleSpec("controller_ok", "bool", ("controller",), "the storage controller reports healthy"),
    SampleSpec("storage_pool_usage_ratio", "ratio", ("pool",), "used share of a storage pool"),
    SampleSpec("ups_on_battery", "bool", (), "the UPS runs from its battery"),
    SampleSpec("ups_battery_charge_ratio", "ratio", (), "remaining battery charge"),
    SampleSpec("ups_battery_minutes_remaining", "minutes", (), "estimated runtime left"),
    SampleSpec("ups_battery_replace", "bool", (), "the UPS asks for a battery replacement"),
    SampleSpec("ups_on_bypass", "bool", (), "the UPS output is on bypass"),
    SampleSpec("ups_battery_low", "bool", (), "battery status is low or depleted"),
    SampleSpec("ups_load_ratio", "ratio", ("line",), "output load of one line"),
    SampleSpec("ups_alarms", "count", (), "alarms present on the UPS"),
    SampleSpec("ups_input_voltage_volts", "volts", ("line",), "input voltage of one line"),
    SampleSpec("ups_input_frequency_hertz", "hertz", (), "input frequency"),
    SampleSpec("ups_self_test_ok", "bool", (), "the last self-test passed"),
    SampleSpec("system_health_ok", "bool", (), "the device's own overall health is normal"),
    SampleSpec("battery_ok", "bool", ("battery",), "a CMOS or RAID controller battery is ok"),
    SampleSpec("chassis_intrusion", "bool", (), "the chassis reports an intrusion (cover open)"),
    SampleSpec("disk_bad_sectors", "count", ("disk",), "bad sectors the disk reports"),
    SampleSpec(
        "temperature_over_threshold",
        "count",
        ("sensor",),
        "device's own temperature limits reached: 0, 1 warning, 2 critical",
    ),
    SampleSpec("optic_rx_power_dbm", "dBm", ("interface",), "transceiver receive power"),
    SampleSpec("optic_tx_power_dbm", "dBm", ("interface",), "transceiver transmit power"),
    SampleSpec(
        "optic_rx_power_low", "bool", ("interface",), "receive power below the low-alarm limit"
    ),
    SampleSpec("firewall_sessions", "count", (), "sessions the firewall holds"),
    SampleSpec("ha_members", "count", (), "members of the firewall's HA cluster"),
    SampleSpec("ha_in_sync", "bool", ("member",), "the HA member's configuration is in sync"),
    SampleSpec("vpn_tunnel_up", "bool", ("tunnel",), "an IPsec VPN tunnel is up"),
    SampleSpec("sdwan_link_ok", "bool", ("check", "link"), "an SD-WAN health check passes"),
    SampleSpec("snmp_weak_security", "bool", (), "SNMP v1/v2c, MD5 or DES in use"),
    SampleSpec("trap_link_up", "bool", ("interface",), "link state the last linkUp/Down trap gave"),
    SampleSpec("trap_alarm", "bool", ("alarm", "object"), "1 while a trapped alarm is raised"),
    SampleSpec("trap_auth_failures", "count", (), "authenticationFailure traps in the last hour"),
    SampleSpec("systemd_failed_units", "count", (), "units in the failed state"),
    SampleSpec("clock_offset_seconds", "seconds", (), "local clock minus reference time"),
    SampleSpec("processes_zombie", "count", (), "zombie processes"),
    SampleSpec("processes_count", "count", (), "processes (not threads)"),
    SampleSpec("filesystem_readonly", "bool", ("mountpoint",), "mounted read-only"),
    SampleSpec("disk_read_bytes_rate", "bytes/s", ("disk",), "bytes read per second"),
    SampleSpec("disk_write_bytes_rate", "bytes/s", ("disk",), "bytes written per second"),
    SampleSpec("disk_busy_ratio", "ratio", ("disk",), "share of time with I/O in flight"),
    SampleSpec("raid_sync_ratio", "ratio", ("array",), "progress of a running rebuild"),
    SampleSpec("clock_synchronized", "bool", (), "chrony or timesyncd has synchronised"),
    SampleSpec("rebooted", "bool", (), "1 on the first inspection after a reboot"),
    SampleSpec("process_cpu_ratio", "ratio", ("process", "pid"), "a top process's CPU share"),
    SampleSpec("process_memory_bytes", "bytes", ("process", "pid"), "a top process's RSS"),
    SampleSpec(
        "log_error_lines", "count", ("source", "text"), "error lines since the last inspection"
    ),
    SampleSpec(
        "end_of_support_timestamp",
        "unix seconds",
        ("component", "product"),
        "vendor end of support of firmware or OS",
    ),
    SampleSpec("warranty_end_timestamp", "unix seconds", (), "from the inventory, by the rules"),
    SampleSpec(
        "contract_end_timestamp",
        "unix seconds",
        ("contract", "contract_name"),
        "from the inventory, by the rules",
    ),
    # Standard-MIB health of devices no vendor profile knows (ENTITY-SENSOR, ENTITY-STATE,
    # HOST-RESOURCES hrDevice): collector/snmp/readers/health.py
    SampleSpec("fan_speed_rpm", "rpm", ("fan",), "a fan's speed"),
    SampleSpec("voltage_volts", "volts", ("sensor",), "a voltage sensor's reading"),
    SampleSpec("current_amperes", "amperes", ("sensor",), "a current sensor's reading"),
    SampleSpec("power_watts", "watts", ("sensor",), "a power sensor's reading"),
    SampleSpec(
        "sensor_ok", "bool", ("sensor",), "the sensor works and is within the device's limits"
    ),
    SampleSpec("component_ok", "bool", ("component",), "a hardware component reports healthy"),
)

BY_NAME: dict[str, SampleSpec] = {spec.name: spec for spec in VOCABULARY}

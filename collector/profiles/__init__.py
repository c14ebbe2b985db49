"""Built-in SNMP device profiles (YAML data, read by :mod:`collector.snmp.profiles`)."""

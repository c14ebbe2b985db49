"""Built-in trap catalog files (YAML data, read by :mod:`collector.traps.catalog_files`)."""

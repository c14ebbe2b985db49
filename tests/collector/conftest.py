from __future__ import annotations

from typing import Any

from weibao.inventory.model import Inventory


def inventory(*devices: dict[str, Any], interval: str = "60s") -> Inventory:
    """A one-site inventory holding ``devices`` (Python data, validated as a file would be)."""
    return Inventory.model_validate(
        {
            "defaults": {"schedule": {"health_interval": interval}},
            "customers": [
                {
                    "name": "Acme",
                    "contracts": [
                        {
                            "id": "C-1",
                            "name": "Acme 2026",
                            "start": "2026-01-01",
                            "end": "2026-12-31",
                            "service_manager": {"name": "Wang Lei"},
                            "sites": [{"name": "HQ", "devices": list(devices)}],
                        }
                    ],
                }
            ],
        }
    )

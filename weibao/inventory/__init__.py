"""The inventory: customers, contracts, sites and the devices under contract."""

from weibao.inventory.model import (
    Contract,
    Customer,
    Device,
    DeviceContext,
    Inventory,
    Person,
    Site,
)

__all__ = ["Contract", "Customer", "Device", "DeviceContext", "Inventory", "Person", "Site"]

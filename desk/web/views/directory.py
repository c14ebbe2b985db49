"""The inventory indexed once for the pages: customers, contracts, sites and devices by
name, and each device's clock policy.

:meth:`Inventory.find` and :meth:`Inventory.contexts` build every device's context
on each call; with 2,000 devices that is too slow to do per page view. The inventory
does not change while the desk runs, so the console indexes it when the router is made.
"""

from __future__ import annotations

from datetime import date

from desk.web.views.queries import PolicyBook
from weibao.inventory.model import Contract, Customer, DeviceContext, Inventory, Site


class Directory:
    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.contexts: list[DeviceContext] = inventory.contexts()
        self.devices: dict[str, DeviceContext] = {c.device.name: c for c in self.contexts}
        self.customers: dict[str, Customer] = {c.name: c for c in inventory.customers}
        self.contracts: dict[str, tuple[Customer, Contract]] = {
            co.id: (cu, co) for cu in inventory.customers for co in cu.contracts
        }
        self.sites: dict[tuple[str, str], Site] = {
            (co.id, si.name): si
            for cu in inventory.customers
            for co in cu.contracts
            for si in co.sites
        }
        self.policies = PolicyBook(inventory)

    def find(self, device: str) -> DeviceContext | None:
        return self.devices.get(device)

    def in_force(self, today: date) -> list[DeviceContext]:
        """Devices whose contract runs today: the ones coverage is owed for."""
        return [c for c in self.contexts if c.contract.start <= today <= c.contract.end]

    def contract_of_site(self, customer: str, site: str) -> str | None:
        """The contract id of a customer's site, for links from a ticket."""
        for (cid, name), _site in self.sites.items():
            if name == site and self.contracts[cid][0].name == customer:
                return cid
        return None

"""What every page of the console is given: the person logged in, and the desk's parts.

Shared by the account side (:mod:`desk.web.session`, :mod:`desk.web.templating`: login,
cookies, CSRF, layout) and the pages (:mod:`desk.web.pages`), so neither reaches into
the other's modules.
"""

from __future__ import annotations

from dataclasses import dataclass

from desk.model import Role
from desk.storage import Store
from desk.workflow import Actor, Workflow
from weibao.clock import Clock
from weibao.inventory.model import Inventory


@dataclass(frozen=True)
class WebUser:
    """A logged-in person, as a page sees them."""

    id: int
    username: str
    display_name: str
    role: Role
    customer: str | None
    """Set for customer accounts: they see this customer's tickets and reports only."""
    engineer: str | None
    """The engineer's name on the inventory's sites, for "my tickets"."""
    language: str
    """``zh`` or ``en``: the person's choice, else the browser's."""
    csrf_token: str
    """Every form posts it back as ``csrf_token`` (htmx sends ``X-CSRF-Token``)."""

    @property
    def actor(self) -> Actor:
        """Who the ticket's timeline records: an engineer by the name the inventory's
        sites give them (so acknowledging assigns the ticket to the name "mine" and the
        statistics count), anyone else by their display name."""
        name = self.engineer if self.engineer else self.display_name
        return Actor(name=name, role=self.role, customer=self.customer)

    def may_see(self, customer: str, internal: bool = False) -> bool:
        """Staff see everything; a customer its own tickets, never our internal ones."""
        if self.customer is None:
            return True
        return self.customer == customer and not internal


@dataclass(frozen=True)
class WebContext:
    store: Store
    inventory: Inventory
    workflow: Workflow
    clock: Clock

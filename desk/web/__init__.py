"""The web console: server-rendered pages (Jinja2) for engineers, managers and customers.

(Placeholder wired into the app; the implementation lands with issue #12.)
"""

from __future__ import annotations

from fastapi import FastAPI

from desk.storage import Store
from desk.workflow import Workflow
from weibao.clock import Clock
from weibao.inventory.model import Inventory


def install_web(
    app: FastAPI, store: Store, inventory: Inventory, workflow: Workflow, clock: Clock
) -> None:
    """Add the console's pages and static files to the desk's app."""

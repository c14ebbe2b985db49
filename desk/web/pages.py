"""The console's pages. (Placeholder; the pages land with issue #12.)"""

from __future__ import annotations

from fastapi import APIRouter

from desk.web.context import WebContext


def pages_router(ctx: WebContext) -> APIRouter:
    """The queue, ticket, dashboard, inventory and portal pages."""
    return APIRouter()

"""Who may call what: bearer tokens checked per request, roles checked per route.

| role     | push observations | read tickets                      |
|----------|-------------------|-----------------------------------|
| agent    | yes               | no                                |
| engineer | yes               | all                               |
| manager  | yes               | all                               |
| customer | no                | its own customer's only           |

Ticket steps (desk.workflow): engineers and managers take them; a customer may sign off
and add notes on its own tickets; moving a due time is for managers only.

401 means "no valid token" (missing, unknown or revoked); 403 means "valid token, wrong
role". The token itself is never logged or echoed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from desk.model import Role
from desk.storage import Store
from desk.tokens import lookup_token

PUSH_ROLES = frozenset({Role.agent, Role.engineer, Role.manager})
READ_ROLES = frozenset({Role.engineer, Role.manager, Role.customer})
STAFF_ROLES = frozenset({Role.engineer, Role.manager})
MANAGER_ROLES = frozenset({Role.manager})


@dataclass(frozen=True)
class Principal:
    """The caller, as far as the desk knows: a token id, its role, and its customer."""

    token_id: int
    role: Role
    customer: str | None
    name: str | None = None

    def may_see(self, customer: str, internal: bool = False) -> bool:
        """Staff see everything; a customer its own tickets, never our internal ones."""
        if self.customer is None:
            return True
        return self.customer == customer and not internal

    @property
    def actor(self) -> str:
        """What the ticket's timeline records as who did a step."""
        return self.name or f"token #{self.token_id} ({self.role.value})"


class Authenticator:
    """Builds the FastAPI dependencies that check tokens against one store."""

    def __init__(self, store: Store) -> None:
        self._store = store
        # auto_error=False: we answer 401 ourselves, with our message and JSON shape.
        self._bearer = HTTPBearer(auto_error=False, description="wb_... token")

    def require(self, roles: frozenset[Role], action: str) -> Callable[..., Principal]:
        """A dependency that yields the Principal, or answers 401/403."""
        store = self._store
        # A default, not Annotated[...]: with postponed annotations FastAPI resolves
        # annotation strings in module globals, where this local dependency is not.
        bearer = Depends(self._bearer)

        def dependency(
            request: Request, credentials: HTTPAuthorizationCredentials | None = bearer
        ) -> Principal:
            if credentials is None:
                raise HTTPException(
                    status.HTTP_401_UNAUTHORIZED,
                    "this call needs a token: send 'Authorization: Bearer wb_...' "
                    "(create one with `weibao token create --role ROLE`)",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            record = lookup_token(store, credentials.credentials)
            if record is None:
                raise HTTPException(
                    status.HTTP_401_UNAUTHORIZED,
                    "the token is unknown or revoked: ask for a new one (`weibao token create`)",
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            principal = Principal(record.id, record.role, record.customer, record.name)
            request.state.principal = principal
            if principal.role not in roles:
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    f"{principal.role.with_article} token may not {action}: use a token "
                    f"with role {Role.listed(roles)}",
                )
            return principal

        return dependency

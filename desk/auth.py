"""Who may call what: bearer tokens checked per request, roles checked per route.

| role     | push observations | read tickets                      |
|----------|-------------------|-----------------------------------|
| agent    | yes               | no                                |
| engineer | yes               | all                               |
| manager  | yes               | all                               |
| customer | no                | its own customer's only           |

Ticket steps (desk.workflow): engineers and managers take them; a customer may sign off
and add notes on its own tickets; moving a due time is for managers only.

An agent token may be scoped to a site (a remote collector's) or to one device (a
server's agent): it pushes observations for those devices only, the rest of a batch is
refused with 403 and nothing of it stored.

401 means "no valid token" (missing, unknown or revoked); 403 means "valid token, wrong
role" (or, for a push, a device outside the token's scope). The token itself is never
logged or echoed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from desk.model import Role
from desk.storage import Store
from desk.tokens import TOKEN_PREFIX, hash_token, lookup_token
from weibao.logs import log_event

_log = logging.getLogger("weibao.desk.auth")

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
    site: str | None = None
    """An agent token scoped to a site pushes for that site's devices only."""
    device: str | None = None
    """An agent token scoped to a device pushes for that device only."""

    def push_refusal(self, device: str, site_of: Callable[[str], str | None]) -> str | None:
        """Why this caller may not push for ``device``, or None when it may.

        ``site_of`` names a device's site in the inventory (None: not in the inventory).
        """
        if self.device is not None and device != self.device:
            return (
                f"this token pushes for device {self.device!r} only, not {device!r}: check "
                "the agent's --device, or create a token for that device"
            )
        if self.site is not None and site_of(device) != self.site:
            where = site_of(device)
            found = f"at site {where!r}" if where else "not in the inventory"
            return (
                f"this token pushes for the devices of site {self.site!r} only; {device!r} is "
                f"{found}: create a token for that site (weibao token create --site)"
            )
        return None

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
        self._refused: set[str] = set()

    def _log_refused(self, token: str) -> None:
        """Say which database the token was looked up in: a token created against
        another database (``weibao token create`` run elsewhere) reads as unknown here.
        Once per token at WARNING (an agent retries every few seconds), then DEBUG."""
        digest = hash_token(token)
        record = self._store.find_token(digest) if token.startswith(TOKEN_PREFIX) else None
        first = digest not in self._refused
        if first and len(self._refused) < 1000:
            self._refused.add(digest)
        log_event(
            _log,
            "token.revoked" if record is not None else "token.unknown",
            logging.WARNING if first else logging.DEBUG,
            db=self._store.display_url,
            sha256_prefix=digest[:8],  # tells repeats apart; the token cannot be read back
            hint="the token was revoked: issue a new one"
            if record is not None
            else "was it created against this database? `weibao token list --db URL`",
        )

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
                self._log_refused(credentials.credentials)
                raise HTTPException(
                    status.HTTP_401_UNAUTHORIZED,
                    "the token is unknown or revoked: ask for a new one (`weibao token create`)",
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            principal = Principal(
                record.id, record.role, record.customer, record.name, record.site, record.device
            )
            request.state.principal = principal
            if principal.role not in roles:
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    f"{principal.role.with_article} token may not {action}: use a token "
                    f"with role {Role.listed(roles)}",
                )
            return principal

        return dependency

"""API tokens: ``wb_`` plus 32 random bytes, shown once, stored only as a SHA-256 hash.

The prefix lets log redaction (:mod:`weibao.logs`) and secret scanners recognise a
token; a plain hash (no salt) suffices because the token itself is high-entropy.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from desk.model import Role
from desk.storage import Store, TokenRecord
from weibao.errors import WeibaoError

TOKEN_PREFIX = "wb_"


class TokenError(WeibaoError):
    """A token cannot be created or changed as asked; the message says what to do."""


@dataclass(frozen=True)
class IssuedToken:
    """The only moment the token exists in clear: print it, then forget it."""

    token: str
    record: TokenRecord


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise TokenError(f"unknown role {text!r}: use one of {choices}") from None


def check_scope(role: Role, customer: str | None) -> None:
    """A customer token is bound to one customer; no other role may be."""
    if role is Role.customer and not (customer and customer.strip()):
        raise TokenError(
            "a customer token must name its customer: add --customer NAME "
            "(the customer's name as written in the inventory)"
        )
    if role is not Role.customer and customer:
        raise TokenError(
            f"--customer only applies to role customer; {role.with_article} token sees "
            "every customer (drop --customer, or use --role customer)"
        )


def check_push_scope(role: Role, site: str | None, device: str | None) -> None:
    """Only an agent token is scoped (to a site or one device), and to one of the two."""
    if (site or device) and role is not Role.agent:
        raise TokenError(
            f"--site and --device scope an agent token; {role.with_article} token is not "
            "scoped (drop them, or use --role agent)"
        )
    if site and device:
        raise TokenError(
            "give --site or --device, not both: a device's token pushes for that device, "
            "a site's (a remote collector's) for every device of the site"
        )


def issue_token(
    store: Store,
    role: Role,
    customer: str | None,
    note: str | None,
    now: datetime,
    name: str | None = None,
    site: str | None = None,
    device: str | None = None,
) -> IssuedToken:
    """Create and store a token; the clear text is returned once and never stored.

    ``name`` is the person who holds it: ticket steps taken with it record that name.
    ``site`` or ``device`` scope an agent token: it may push observations for that
    site's devices, or that one device, only (the caller checks the names exist).
    """
    check_scope(role, customer)
    check_push_scope(role, site, device)
    token = new_token()
    record = store.add_token(
        hash_token(token),
        role,
        customer.strip() if customer else None,
        note,
        now,
        name=name.strip() if name else None,
        site=site.strip() if site else None,
        device=device.strip() if device else None,
    )
    return IssuedToken(token=token, record=record)


def lookup_token(store: Store, token: str) -> TokenRecord | None:
    """The active token record for a presented token; None if unknown or revoked."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    record = store.find_token(hash_token(token))
    return record if record is not None and record.active else None

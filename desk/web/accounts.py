"""Console accounts: argon2 password hashes, logging in, and the lockout policy.

- Passwords are hashed with argon2id (:class:`argon2.PasswordHasher`); a hash made with
  weaker parameters than the current ones is replaced at the next successful login.
- A login answers one of three things: the user, "wrong user name or password" (the
  same for an unknown user, a disabled one and a wrong password, and as slow: an
  unknown name is checked against a dummy hash), or "locked until ...". Five failures
  in a row lock an account for 15 minutes; while it is locked the password is not
  even looked at, so the answer cannot tell a right guess from a wrong one.
- An account is bound to what its role needs: a customer account to a customer of
  the inventory (it sees that customer's tickets only), an engineer account to an
  engineer named on the inventory's sites (for "my tickets").
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from desk.model import Role
from desk.storage import Store
from desk.storage.accounts import AccountStore, NewUser, UserRecord
from weibao.clock import Clock
from weibao.errors import WeibaoError
from weibao.inventory.model import Inventory

MIN_PASSWORD = 10
# argon2 reads the whole password; a bound keeps a megabyte "password" from costing
# the desk more than a login should.
MAX_PASSWORD = 1024
USER_ROLES = frozenset({Role.engineer, Role.manager, Role.customer})


class AccountError(WeibaoError):
    """An account cannot be made or changed as asked; the message says what to do."""


@dataclass(frozen=True)
class LockoutPolicy:
    """How many failed logins in a row lock an account, and for how long."""

    max_failures: int = 5
    lock_for: timedelta = timedelta(minutes=15)


class Outcome(Enum):
    ok = "ok"
    wrong = "wrong"
    """Wrong user name or password (or a disabled account): one answer for all."""
    locked = "locked"


@dataclass(frozen=True)
class LoginResult:
    outcome: Outcome
    user: UserRecord | None = None
    locked_until: datetime | None = None


def check_password(password: str) -> None:
    """Refuse passwords that are too short or too long, saying what is needed."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(
            f"the password is too short: use at least {MIN_PASSWORD} characters "
            "(a few words make a good one)"
        )
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password is too long: use at most {MAX_PASSWORD} characters")


def parse_user_role(text: str) -> Role:
    """engineer, manager or customer; agents use API tokens, not the console."""
    try:
        role = Role(text.strip().lower())
    except ValueError:
        role = None
    if role not in USER_ROLES:
        raise AccountError(
            f"unknown role {text!r} for a console user: use engineer, manager or customer "
            "(agents push with an API token: `weibao token create --role agent`)"
        )
    assert role is not None
    return role


def _closest(name: str, names: Iterable[str]) -> str:
    known = sorted(set(names))
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.3)
    hint = f"did you mean {close[0]!r}? " if close else ""
    listed = ", ".join(repr(n) for n in known) or "none"
    return f"{hint}the names there are {listed}"


def engineer_names(inventory: Inventory) -> set[str]:
    """Every engineer named on a site of the inventory (定人服务)."""
    return {
        person.name
        for customer in inventory.customers
        for contract in customer.contracts
        for site in contract.sites
        for person in site.engineers
    }


def check_scope(role: Role, customer: str | None, engineer: str | None) -> None:
    """A customer account names its customer and nothing else; staff name no customer."""
    if role is Role.customer:
        if not customer:
            raise AccountError(
                "a customer account must name its customer: add --customer NAME (the "
                "customer's name as written in the inventory)"
            )
        if engineer:
            raise AccountError("--engineer does not apply to a customer account: drop it")
    elif customer:
        raise AccountError(
            f"--customer only applies to role customer; {role.with_article} sees every "
            "customer (drop --customer, or use --role customer)"
        )


def check_names(customer: str | None, engineer: str | None, inventory: Inventory) -> None:
    """A customer account for a customer the inventory lacks would see nothing, and an
    engineer name nobody is assigned under would leave "my tickets" empty: both are
    typos to catch when the account is made, not in front of the person."""
    if customer is not None:
        names = [c.name for c in inventory.customers]
        if customer not in names:
            raise AccountError(
                f"--customer {customer!r} is not a customer in the inventory: "
                + _closest(customer, names)
            )
    if engineer is not None:
        engineers = engineer_names(inventory)
        if engineer not in engineers:
            raise AccountError(
                f"--engineer {engineer!r} is not an engineer on any site of the inventory "
                "(sites: engineers:): " + _closest(engineer, engineers)
            )


@dataclass
class Accounts:
    """Makes accounts and logs people in, against one store and clock."""

    store: Store
    clock: Clock
    hasher: PasswordHasher = field(default_factory=PasswordHasher)
    policy: LockoutPolicy = field(default_factory=LockoutPolicy)

    @cached_property
    def records(self) -> AccountStore:
        return AccountStore(self.store)

    @cached_property
    def _dummy_hash(self) -> str:
        # Made with the same parameters as real hashes, so an unknown user name costs
        # the same time as a known one with a wrong password.
        return self.hasher.hash("weibao: no such user")

    def add(
        self,
        username: str,
        password: str,
        role: Role,
        display_name: str | None = None,
        customer: str | None = None,
        engineer: str | None = None,
        language: str | None = None,
    ) -> UserRecord:
        """A new account; its customer or engineer must already be checked against the
        inventory (:func:`check_names`)."""
        username = username.strip()
        if not username or len(username) > 100 or any(c.isspace() for c in username):
            raise AccountError(
                f"{username!r} is not a usable user name: use up to 100 characters "
                "without spaces (e.g. liqiang or li.qiang)"
            )
        check_scope(role, customer, engineer)
        check_password(password)
        new = NewUser(
            username=username,
            display_name=(display_name or engineer or username).strip(),
            role=role,
            customer=customer,
            engineer=engineer,
            password_hash=self.hasher.hash(password),
            language=language,
        )
        return self.records.add_user(new, self.clock.now())

    def find(self, username: str) -> UserRecord:
        user = self.records.user_by_name(username)
        if user is None:
            raise AccountError(f"there is no user {username!r}: see `weibao user list`")
        return user

    def set_password(self, username: str, password: str) -> UserRecord:
        """A new password: clears a lockout and ends the user's sessions."""
        user = self.find(username)
        check_password(password)
        self.records.set_password(user.id, self.hasher.hash(password))
        return user

    def disable(self, username: str) -> UserRecord:
        """The account stops working at once: its sessions end, logins are refused."""
        user = self.find(username)
        self.records.set_disabled(user.id, self.clock.now())
        return user

    def enable(self, username: str) -> UserRecord:
        user = self.find(username)
        self.records.set_disabled(user.id, None)
        return user

    def authenticate(self, username: str, password: str) -> LoginResult:
        """Check a login, count failures, lock after too many, rehash a weak hash."""
        now = self.clock.now()
        user = self.records.user_by_name(username.strip()) if username.strip() else None
        if user is None or user.disabled_at is not None or len(password) > MAX_PASSWORD:
            self._verify(self._dummy_hash, password[:MAX_PASSWORD])
            return LoginResult(Outcome.wrong)
        if user.locked_at(now):
            # Same work as a real check, and the same answer whatever the password.
            self._verify(self._dummy_hash, password)
            return LoginResult(Outcome.locked, locked_until=user.locked_until)
        if not self._verify(user.password_hash, password):
            after = self.records.record_failure(
                user.id, now, self.policy.max_failures, now + self.policy.lock_for
            )
            if after is not None and after.locked_at(now):
                return LoginResult(Outcome.locked, locked_until=after.locked_until)
            return LoginResult(Outcome.wrong)
        if self.hasher.check_needs_rehash(user.password_hash):
            self.records.rehash(user.id, self.hasher.hash(password))
        self.records.record_login(user.id, now)
        return LoginResult(Outcome.ok, user=user)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

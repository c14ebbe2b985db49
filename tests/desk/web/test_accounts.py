"""Accounts without HTTP: argon2 hashes and rehash, the lockout and its end, one answer
for every kind of wrong login, and accounts bound to the inventory's names."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from desk.model import Role
from desk.storage import Store
from desk.storage.accounts import AccountStore, DuplicateUser
from desk.web.accounts import (
    MIN_PASSWORD,
    AccountError,
    Accounts,
    LockoutPolicy,
    Outcome,
    check_names,
    check_scope,
    parse_user_role,
)
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory

from .conftest import FAST_HASHER, PASSWORD, STAFFED_INVENTORY, Users


def test_only_an_argon2id_hash_is_stored(accounts: Accounts, store: Store) -> None:
    user = accounts.add("li", PASSWORD, Role.manager, "李强")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert FAST_HASHER.verify(user.password_hash, PASSWORD)
    assert accounts.authenticate("li", PASSWORD).outcome is Outcome.ok


def test_a_weak_hash_is_replaced_at_login(store: Store, clock: FrozenClock) -> None:
    weak = Accounts(store, clock, hasher=FAST_HASHER)
    user = weak.add("li", PASSWORD, Role.engineer, engineer="Li Qiang")
    strong_hasher = PasswordHasher(time_cost=2, memory_cost=64, parallelism=1)
    assert strong_hasher.check_needs_rehash(user.password_hash)
    strong = Accounts(store, clock, hasher=strong_hasher)

    assert strong.authenticate("li", PASSWORD).outcome is Outcome.ok
    rehashed = AccountStore(store).user_by_name("li")
    assert rehashed is not None and rehashed.password_hash != user.password_hash
    assert "m=64,t=2,p=1" in rehashed.password_hash
    assert not strong_hasher.check_needs_rehash(rehashed.password_hash)
    assert strong.authenticate("li", PASSWORD).outcome is Outcome.ok


def test_unknown_disabled_and_wrong_all_read_the_same(accounts: Accounts, users: Users) -> None:
    accounts.disable("beta")
    answers = [
        accounts.authenticate("nobody", PASSWORD),
        accounts.authenticate("zhang", "not the password"),
        accounts.authenticate("beta", PASSWORD),
        accounts.authenticate("", ""),
        accounts.authenticate("zhang", "x" * 5000),
    ]
    assert {a.outcome for a in answers} == {Outcome.wrong}
    assert all(a.user is None and a.locked_until is None for a in answers)


def test_five_failures_lock_for_fifteen_minutes_then_it_opens(
    accounts: Accounts, users: Users, clock: FrozenClock
) -> None:
    for _ in range(4):
        assert accounts.authenticate("zhang", "wrong password").outcome is Outcome.wrong
    fifth = accounts.authenticate("zhang", "wrong password")
    assert fifth.outcome is Outcome.locked
    assert fifth.locked_until == clock.now() + timedelta(minutes=15)

    # While locked the right password gets the same answer as a wrong one.
    clock.advance(timedelta(minutes=14, seconds=59))
    right = accounts.authenticate("zhang", PASSWORD)
    wrong = accounts.authenticate("zhang", "wrong password")
    assert right == wrong and right.outcome is Outcome.locked and right.user is None

    clock.advance(timedelta(seconds=1))
    opened = accounts.authenticate("zhang", PASSWORD)
    assert opened.outcome is Outcome.ok and opened.user is not None
    after = accounts.records.user_by_name("zhang")
    assert after is not None and after.failed_logins == 0 and after.locked_until is None
    assert after.last_login_at == clock.now()


def test_a_success_resets_the_count(accounts: Accounts, users: Users) -> None:
    for _ in range(4):
        accounts.authenticate("zhang", "wrong password")
    assert accounts.authenticate("zhang", PASSWORD).outcome is Outcome.ok
    for _ in range(4):
        assert accounts.authenticate("zhang", "wrong password").outcome is Outcome.wrong


def test_an_expired_lock_starts_the_count_afresh(
    store: Store, clock: FrozenClock, users: Users
) -> None:
    accounts = Accounts(store, clock, FAST_HASHER, LockoutPolicy(3, timedelta(minutes=5)))
    for _ in range(3):
        accounts.authenticate("wang", "bad password!")
    clock.advance(timedelta(minutes=5))
    assert accounts.authenticate("wang", "bad password!").outcome is Outcome.wrong
    assert accounts.authenticate("wang", "bad password!").outcome is Outcome.wrong
    assert accounts.authenticate("wang", "bad password!").outcome is Outcome.locked


def test_a_new_password_unlocks_and_ends_sessions(
    accounts: Accounts, users: Users, clock: FrozenClock
) -> None:
    for _ in range(5):
        accounts.authenticate("zhang", "wrong password")
    accounts.set_password("zhang", "another good password")
    assert accounts.authenticate("zhang", PASSWORD).outcome is Outcome.wrong
    assert accounts.authenticate("zhang", "another good password").outcome is Outcome.ok


def test_passwords_must_be_long_enough(accounts: Accounts) -> None:
    with pytest.raises(AccountError, match=f"at least {MIN_PASSWORD} characters"):
        accounts.add("li", "short", Role.manager)
    assert accounts.records.user_by_name("li") is None


def test_user_names_are_unique(accounts: Accounts, users: Users) -> None:
    with pytest.raises(DuplicateUser, match="weibao user passwd zhang"):
        accounts.add("zhang", PASSWORD, Role.manager)


def test_agents_get_tokens_not_accounts() -> None:
    with pytest.raises(AccountError, match="weibao token create --role agent"):
        parse_user_role("agent")
    assert parse_user_role(" Customer ") is Role.customer


def test_customer_accounts_name_their_customer_and_only_they() -> None:
    with pytest.raises(AccountError, match="--customer NAME"):
        check_scope(Role.customer, None, None)
    with pytest.raises(AccountError, match="only applies to role customer"):
        check_scope(Role.manager, "Acme Bank", None)
    with pytest.raises(AccountError, match="does not apply to a customer"):
        check_scope(Role.customer, "Acme Bank", "Zhang Wei")
    check_scope(Role.customer, "Acme Bank", None)


def test_names_are_checked_against_the_inventory_with_a_suggestion() -> None:
    staffed = Inventory.model_validate(STAFFED_INVENTORY)
    check_names("Acme Bank", None, staffed)
    with pytest.raises(AccountError, match="did you mean 'Acme Bank'"):
        check_names("Acme Bnak", None, staffed)
    check_names(None, "Zhang Wei", staffed)
    with pytest.raises(AccountError, match="did you mean 'Zhang Wei'"):
        check_names(None, "Zhang Wie", staffed)

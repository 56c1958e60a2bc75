"""Random sequences of money movements and payout steps agree with an in-memory model."""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from bot.errors import (
    CapExceeded,
    IllegalTransition,
    InsufficientFunds,
    InvalidInput,
    LedgerError,
)
from bot.ledger import (
    BANK,
    Posted,
    correct,
    credit_reward,
    escrow_account,
    grant_bonus,
    hold_for_batch,
    release_remainder,
    requester_account,
    top_up,
    worker_account,
)
from bot.payouts import approve, check_invariants, close_month, hold, mark_paid
from storage.db import Database
from tests.conftest import migrated_file, sql_rows
from tests.conftest_ledger import PARIS, paris

pytestmark = pytest.mark.long  # tens of seconds: collected first (tests/conftest.py)

T = TypeVar("T")
CAP = 1_000  # small, so that random rewards reach it often
NOW = paris("2026-04-10 12:00:00")  # January to March have ended and may be closed
# Credit times with their month in Paris, written out by hand (not computed by the code).
MOMENTS = [
    (paris("2026-01-31 23:59:59"), "2026-01"),
    (datetime(2026, 1, 31, 23, 0, 1, tzinfo=UTC), "2026-02"),
    (paris("2026-02-15 12:00:00"), "2026-02"),
    (paris("2026-02-28 23:59:59"), "2026-02"),
    (paris("2026-03-01 00:00:01"), "2026-03"),
    (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "2026-03"),  # just after the DST jump
    (datetime(2026, 3, 31, 22, 0, 1, tzinfo=UTC), "2026-04"),
    (paris("2026-04-09 23:59:59"), "2026-04"),
]
MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04"]  # April is running: it cannot close
REQUESTERS = st.integers(1, 2)
BATCHES = st.integers(1, 4)
WORKERS = st.integers(1, 2)
# Round amounts and their neighbours land exactly on the cap and on empty accounts.
AMOUNTS = st.one_of(st.sampled_from([1, 500, 501, 999, 1_000, 1_001]), st.integers(1, 1_500))
ACCOUNTS = [
    BANK,
    requester_account(1),
    requester_account(2),
    escrow_account(1),
    escrow_account(2),
    worker_account(1),
    worker_account(2),
]


@dataclass
class ModelStatement:
    id: int
    amount: int
    state: str = "pending"
    reference: str | None = None


@dataclass
class Model:
    """The ledger as plain Python: what each key moved, balances, earnings, statements."""

    balances: Counter[str] = field(default_factory=Counter)
    keys: dict[str, tuple[str, int, str, str]] = field(default_factory=dict)
    earned: Counter[tuple[str, str]] = field(default_factory=Counter)
    closed: set[str] = field(default_factory=set)
    funders: dict[str, str] = field(default_factory=dict)
    refunds: Counter[str] = field(default_factory=Counter)
    statements: dict[tuple[int, str], ModelStatement] = field(default_factory=dict)

    def outcome(self, movement: tuple[str, int, str, str], key: str, month: str) -> str:
        """What posting should do, checking in the ledger's order."""
        kind, amount, debit, credit = movement
        if key in self.keys:
            return "replay" if self.keys[key] == movement else "conflict"
        if kind in ("reward", "bonus"):
            if month in self.closed:
                return "closed"
            if self.earned[(credit, month)] + amount > CAP:
                return "cap"
        if debit != BANK and self.balances[debit] < amount:
            return "funds"
        return "created"

    def apply(self, movement: tuple[str, int, str, str], key: str, month: str) -> None:
        kind, amount, debit, credit = movement
        self.keys[key] = movement
        self.balances[debit] -= amount
        self.balances[credit] += amount
        if kind in ("reward", "bonus"):
            self.earned[(credit, month)] += amount
        if kind == "hold":
            self.funders.setdefault(credit, debit)


def outcome_of(result: Posted | BaseException) -> str:
    """The model's name for what the ledger did."""
    if isinstance(result, Posted):
        return "created" if result.created else "replay"
    if isinstance(result, CapExceeded):
        return "cap"
    if isinstance(result, InsufficientFunds):
        return "funds"
    if isinstance(result, IllegalTransition):
        return "illegal"
    if isinstance(result, LedgerError):
        return {"ledger.key_conflict": "conflict", "ledger.month_closed": "closed"}.get(
            result.message_key, result.message_key
        )
    raise result


class LedgerMachine(RuleBasedStateMachine):
    """Each example gets a fresh SQLite file and its own event loop."""

    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.TemporaryDirectory()
        self.loop = asyncio.new_event_loop()
        self.db = self.run(Database.open(migrated_file(Path(self.directory.name) / "ledger.db")))
        self.run(self.db.migrate())
        self.model = Model()

    def run(self, awaitable: Awaitable[T]) -> T:
        return self.loop.run_until_complete(awaitable)

    def attempt(self, awaitable: Awaitable[Any]) -> Any:
        """Run a call, returning its result or the refusal it raised."""

        async def call() -> Any:
            try:
                return await awaitable
            except (LedgerError, InvalidInput) as error:
                return error

        return self.run(call())

    def teardown(self) -> None:
        self.run(self.db.close())
        self.loop.close()
        self.directory.cleanup()

    def post_and_compare(
        self, movement: tuple[str, int, str, str], key: str, month: str, call: Awaitable[Any]
    ) -> None:
        expected = self.model.outcome(movement, key, month)
        event(f"{movement[0]}: {expected}")
        assert outcome_of(self.attempt(call)) == expected
        if expected == "created":
            self.model.apply(movement, key, month)

    @initialize(january=st.lists(st.tuples(WORKERS, st.integers(1, 800)), min_size=1, max_size=4))
    def start_with_money_and_a_closed_january(self, january: list[tuple[int, int]]) -> None:
        """Budgets, held escrows and January's statements, so later steps have work to do."""
        for requester in (1, 2):
            self.top_up(requester, 20_000, requester + 100)
        for batch in (1, 2, 3):
            self.hold_for_batch(batch % 2 + 1, batch, 3_000)
        for n, (worker, amount) in enumerate(january, start=41):
            self.credit_reward(1, worker, n, amount, (paris("2026-01-15 12:00:00"), "2026-01"))
        self.close_month("2026-01")

    @rule(requester=REQUESTERS, amount=st.integers(1, 5_000), key=st.integers(0, 5))
    def top_up(self, requester: int, amount: int, key: int) -> None:
        movement = ("topup", amount, BANK, requester_account(requester))
        call = top_up(
            self.db,
            requester_id=requester,
            amount=amount,
            actor_id=9,
            key=f"topup:{key}",
            now=NOW,
            tz=PARIS,
        )
        self.post_and_compare(movement, f"topup:{key}", "2026-04", call)

    @rule(requester=REQUESTERS, batch=BATCHES, amount=st.integers(1, 5_000))
    def hold_for_batch(self, requester: int, batch: int, amount: int) -> None:
        movement = ("hold", amount, requester_account(requester), escrow_account(batch))
        call = self.db.run_write(
            hold_for_batch,
            requester_id=requester,
            batch_id=batch,
            amount=amount,
            actor_id=requester,
            now=NOW,
            tz=PARIS,
        )
        self.post_and_compare(movement, f"hold:batch:{batch}", "2026-04", call)

    @rule(
        batch=BATCHES,
        worker=WORKERS,
        assignment=st.integers(0, 40),
        amount=AMOUNTS,
        moment=st.sampled_from(MOMENTS),
    )
    def credit_reward(
        self, batch: int, worker: int, assignment: int, amount: int, moment: tuple[datetime, str]
    ) -> None:
        at, month = moment
        movement = ("reward", amount, escrow_account(batch), worker_account(worker))
        call = self.db.run_write(
            credit_reward,
            batch_id=batch,
            worker_id=worker,
            assignment_id=assignment,
            amount=amount,
            at=at,
            tz=PARIS,
            cap=CAP,
        )
        self.post_and_compare(movement, f"answer:{assignment}", month, call)

    @rule(
        requester=REQUESTERS,
        worker=WORKERS,
        amount=AMOUNTS,
        key=st.integers(0, 5),
        moment=st.sampled_from(MOMENTS),
    )
    def grant_bonus(
        self, requester: int, worker: int, amount: int, key: int, moment: tuple[datetime, str]
    ) -> None:
        at, month = moment
        payer = requester_account(requester)
        movement = ("bonus", amount, payer, worker_account(worker))
        call = self.db.run_write(
            grant_bonus,
            from_account=payer,
            worker_id=worker,
            amount=amount,
            key=f"bonus:{key}",
            actor_id=requester,
            at=at,
            tz=PARIS,
            cap=CAP,
        )
        self.post_and_compare(movement, f"bonus:{key}", month, call)

    @rule(
        accounts=st.lists(st.sampled_from(ACCOUNTS), min_size=2, max_size=2, unique=True),
        amount=AMOUNTS,
        key=st.integers(0, 5),
    )
    def correct(self, accounts: list[str], amount: int, key: int) -> None:
        debit, credit = accounts
        call = correct(
            self.db,
            debit_account=debit,
            credit_account=credit,
            amount=amount,
            reason="model",
            actor_id=9,
            key=f"correction:{key}",
            now=NOW,
            tz=PARIS,
        )
        movement = ("correction", amount, debit, credit)
        self.post_and_compare(movement, f"correction:{key}", "2026-04", call)

    @rule(batch=BATCHES)
    def release_remainder(self, batch: int) -> None:
        escrow = escrow_account(batch)
        funder, remainder = self.model.funders.get(escrow), self.model.balances[escrow]
        result = self.attempt(
            self.db.run_write(release_remainder, batch_id=batch, actor_id=None, now=NOW, tz=PARIS)
        )
        if funder is None or remainder <= 0:
            assert result is None
            return
        self.model.refunds[escrow] += 1
        key = f"refund:batch:{batch}:{self.model.refunds[escrow]}"
        assert outcome_of(result) == "created"
        assert result.transfer.key == key
        self.model.apply(("refund", remainder, escrow, funder), key, "2026-04")

    @rule(month=st.sampled_from(MONTHS))
    def close_month(self, month: str) -> None:
        closed = self.attempt(close_month(self.db, month, now=NOW, tz=PARIS, actor_id=9))
        if month == "2026-04":
            assert isinstance(closed, InvalidInput)
            return
        expected = {
            int(account.split(":")[1]): amount
            for (account, earned_month), amount in self.model.earned.items()
            if earned_month == month
            and amount
            and (int(account[7:]), month) not in self.model.statements
        }
        assert {s.worker_id: s.amount for s in closed.created} == expected
        assert closed.first_close == (month not in self.model.closed)
        self.model.closed.add(month)
        for statement in closed.created:
            self.model.statements[(statement.worker_id, month)] = ModelStatement(
                statement.id, statement.amount
            )

    def pick(self, index: int) -> ModelStatement:
        return self.model.statements[
            sorted(self.model.statements)[index % len(self.model.statements)]
        ]

    @precondition(lambda self: self.model.statements)
    @rule(index=st.integers(0, 100))
    def approve(self, index: int) -> None:
        statement = self.pick(index)
        result = self.attempt(approve(self.db, statement.id, actor_id=9, now=NOW))
        if statement.state == "paid":
            assert outcome_of(result) == "illegal"
            return
        assert result.changed == (statement.state != "approved")
        statement.state = "approved"

    @precondition(lambda self: self.model.statements)
    @rule(index=st.integers(0, 100))
    def hold(self, index: int) -> None:
        statement = self.pick(index)
        result = self.attempt(hold(self.db, statement.id, reason="why", actor_id=9, now=NOW))
        if statement.state == "paid":
            assert outcome_of(result) == "illegal"
            return
        assert result.changed == (statement.state != "held")
        statement.state = "held"

    @precondition(lambda self: self.model.statements)
    @rule(index=st.integers(0, 100), reference=st.sampled_from(["R1", "R2"]))
    def mark_paid(self, index: int, reference: str) -> None:
        worker, _ = sorted(self.model.statements)[index % len(self.model.statements)]
        statement = self.pick(index)
        call = mark_paid(self.db, statement.id, reference=reference, actor_id=9, now=NOW, tz=PARIS)
        result = self.attempt(call)
        event(f"pay a statement that is {statement.state}")
        if statement.state == "paid" and statement.reference == reference:
            assert not result.changed
        elif statement.state != "approved":
            assert outcome_of(result) == "illegal"
        elif self.model.balances[worker_account(worker)] < statement.amount:
            assert outcome_of(result) == "funds"
        else:
            assert result.changed
            movement = ("payout", statement.amount, worker_account(worker), BANK)
            self.model.apply(movement, f"payout:{statement.id}", "2026-04")
            statement.state, statement.reference = "paid", reference

    @invariant()
    def ledger_is_healthy_and_matches_the_model(self) -> None:
        assert self.run(check_invariants(self.db, tz=PARIS, cap=CAP)) == []
        rows = self.run(
            sql_rows(self.db, "SELECT account, sum(amount) FROM entries GROUP BY account")
        )
        assert {r[0]: r[1] for r in rows if r[1]} == {
            k: v for k, v in self.model.balances.items() if v
        }
        statements = self.run(sql_rows(self.db, "SELECT worker_id, month, state FROM statements"))
        assert {(r[0], r[1]): r[2] for r in statements} == {
            key: s.state for key, s in self.model.statements.items()
        }


LedgerMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerMachine = LedgerMachine.TestCase

"""SEPA payment files, the rules: a pain.001 credit transfer (built with sepaxml, validated against
the pain.001.001.03 schema it ships) of a month's approved statements whose workers gave their
details, and marking such a file paid in one step. No Telegram here.

The file is the one place a whole IBAN leaves the database. Marking it paid pays every statement
in it once, in one transaction, each with the file's message id as its reference; statements
already paid (a double tap, or paid by hand meanwhile) are left as they are. Four-eyes: an admin
whose own statement is in a file cannot mark that file paid (another admin does), and an admin's
own statement never goes into a file they export.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sepaxml import SepaTransfer

from bot.config import SepaDebtor
from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.ledger import parse_month
from bot.payouts import Statement, pay_in
from storage import payout_details as details_sql
from storage import payouts as payouts_sql
from storage import sepa as sql
from storage.audit import write_audit
from storage.db import Database
from storage.payout_details import PayoutDetails
from storage.sepa import SepaFile as SepaFile

SCHEMA = "pain.001.001.03"
"""The pain.001 version produced: the one SEPA banks accept most widely (sepaxml's default)."""


@dataclass(frozen=True)
class Creditor:
    """One credit transfer of a file: a statement and where it goes."""

    statement: Statement
    details: PayoutDetails


def build_pain001(
    debtor: SepaDebtor,
    creditors: Sequence[Creditor],
    *,
    currency: str,
    execution_date: date,
) -> tuple[str, bytes]:
    """The file's message id and its XML, validated by sepaxml against the pain.001 schema."""
    config = {
        "name": debtor.name,
        "IBAN": debtor.iban,
        "batch": True,
        "currency": currency,
    }
    if debtor.bic:
        config["BIC"] = debtor.bic
    transfer = SepaTransfer(config, schema=SCHEMA, clean=True)
    for creditor in creditors:
        statement, details = creditor.statement, creditor.details
        payment: dict[str, object] = {
            "name": details.holder,
            "IBAN": details.iban,
            "amount": statement.amount,
            "execution_date": execution_date,
            "description": f"Petites Mains {statement.month} statement {statement.id}",
            "endtoend_id": f"PM-{statement.id}",
        }
        if details.bic:
            payment["BIC"] = details.bic
        transfer.add_payment(payment)
    xml: bytes = transfer.export(validate=True)
    return str(transfer.msg_id), xml


@dataclass(frozen=True)
class SepaExport:
    """An exported file: its record and XML, and the approved statements left out (and why)."""

    file: SepaFile
    xml: bytes
    count: int
    missing_details: list[Statement]
    own: list[Statement]


async def export_sepa(
    db: Database,
    month: str,
    *,
    debtor: SepaDebtor,
    currency: str,
    actor_id: int,
    now: datetime,
    tz: ZoneInfo,
) -> SepaExport:
    """A pain.001 file of the month's approved statements with details, recorded with them."""
    month = parse_month(month)
    async with db.write() as tx:
        approved = [
            s for s in await payouts_sql.statements_in_month(tx, month) if s.state == "approved"
        ]
        own = [s for s in approved if s.worker_id == actor_id]
        others = [s for s in approved if s.worker_id != actor_id]
        details = await details_sql.details_for(tx, [s.worker_id for s in others])
        creditors = [Creditor(s, details[s.worker_id]) for s in others if s.worker_id in details]
        missing = [s for s in others if s.worker_id not in details]
        if not creditors:
            raise InvalidInput("sepa.nothing_to_pay", month=month)
        message_id, xml = build_pain001(
            debtor, creditors, currency=currency, execution_date=now.astimezone(tz).date()
        )
        file = await sql.insert_file(
            tx,
            month=month,
            message_id=message_id,
            statements=[(c.statement.id, c.statement.amount) for c in creditors],
            created_by=actor_id,
            now=now,
        )
        await write_audit(
            tx,
            actor_id=actor_id,
            action="sepa.export",
            detail={"file_id": file.id, "message_id": message_id, "total": file.total},
            now=now,
        )
    return SepaExport(file, xml, len(creditors), missing, own)


@dataclass(frozen=True)
class SepaPaid:
    """Marking a file paid: the statements paid now, and how many were paid already."""

    file: SepaFile
    paid: list[Statement]
    already_paid: int
    changed: bool


async def pay_sepa_file(
    db: Database, file_id: int, *, actor_id: int, now: datetime, tz: ZoneInfo
) -> SepaPaid:
    """Pay every statement of a file once, in one transaction; again: nothing changes.

    ``PermissionDenied`` when the admin's own statement is in the file (four-eyes);
    ``IllegalTransition`` when a statement of the file was held since (nothing is paid).
    """
    async with db.write() as tx:
        file = await sql.file_by_id(tx, file_id)
        if file is None:
            raise NotFound("sepa.file_not_found", file_id=file_id)
        statements = await payouts_sql.statements_by_ids(
            tx, await sql.statement_ids_of(tx, file_id)
        )
        if any(s.worker_id == actor_id for s in statements):
            raise PermissionDenied("sepa.own_statement", file_id=file_id)
        if file.paid_at is not None:
            return SepaPaid(file, [], len(statements), changed=False)
        reference = f"SEPA {file.message_id}"
        paid: list[Statement] = []
        for statement in statements:
            if statement.state == "paid":
                continue
            step = await pay_in(
                tx, statement, reference=reference, actor_id=actor_id, now=now, tz=tz
            )
            paid.append(step.statement)
        await sql.mark_file_paid(tx, file_id, actor_id=actor_id, now=now)
        await write_audit(
            tx,
            actor_id=actor_id,
            action="sepa.paid",
            detail={"file_id": file_id, "statements": [s.id for s in paid]},
            now=now,
        )
        updated = await sql.file_by_id(tx, file_id)
        assert updated is not None
    return SepaPaid(updated, paid, len(statements) - len(paid), changed=True)

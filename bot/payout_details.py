"""Workers' payout details, the rules: the account holder and an IBAN checked with schwifty,
stored once per worker and only ever shown masked (the SEPA file alone carries it whole).
No Telegram here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schwifty import BIC, IBAN
from schwifty import exceptions as iban_errors

from bot.errors import InvalidInput
from storage import payout_details as sql
from storage.audit import write_audit
from storage.db import Database
from storage.payout_details import PayoutDetails as PayoutDetails

HOLDER_MAX = 70  # what a SEPA credit transfer keeps of a creditor's name

# Why an IBAN is refused, by schwifty's exception: each reason is a catalogue message.
_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (iban_errors.InvalidCountryCode, "country"),
    (iban_errors.InvalidLength, "length"),
    (iban_errors.InvalidChecksumDigits, "checksum"),
    (iban_errors.InvalidBBANChecksum, "checksum"),
    (iban_errors.InvalidStructure, "structure"),
    (iban_errors.InvalidBankCode, "bank"),
    (iban_errors.InvalidBranchCode, "bank"),
    (iban_errors.InvalidAccountCode, "structure"),
)


def _iban_refused(reason: str) -> InvalidInput:
    return InvalidInput(f"payoutdetails.iban.{reason}")


def parse_iban(text: str) -> str:
    """An IBAN in its compact form (``FR7630006000011234567890189``), checked by schwifty.

    Refused with a reason: not Latin letters and ASCII digits, unknown country, wrong length,
    wrong check digits, wrong structure for the country, or a country outside the SEPA zone.
    """
    compact = "".join(text.split()).upper()
    if not compact:
        raise _iban_refused("empty")
    if not compact.isascii() or not compact.isalnum():
        raise _iban_refused("characters")
    try:
        iban = IBAN(compact)
    except iban_errors.SchwiftyException as error:
        for kind, reason in _REASONS:
            if isinstance(error, kind):
                raise _iban_refused(reason) from None
        raise _iban_refused("structure") from None
    if not iban.in_sepa_zone:
        raise _iban_refused("not_sepa")
    return str(iban.compact)


def parse_bic(text: str) -> str:
    """A BIC (8 or 11 characters), checked by schwifty."""
    try:
        return str(BIC("".join(text.split()).upper()).compact)
    except iban_errors.SchwiftyException:
        raise InvalidInput("payoutdetails.bic_invalid") from None


def parse_holder(text: str) -> str:
    """The account holder's name: 2-70 characters on one line, no control characters."""
    value = " ".join(text.split())
    if len(value) < 2 or len(value) > HOLDER_MAX or any(ord(c) < 32 for c in value):
        raise InvalidInput("payoutdetails.holder_invalid", limit=HOLDER_MAX)
    return value


def mask_iban(iban: str) -> str:
    """Country, check digits and the last four characters: ``FR76 •••• 0189``."""
    compact = "".join(iban.split())
    return f"{compact[:4]} •••• {compact[-4:]}"


@dataclass(frozen=True)
class SavedDetails:
    """What ``/payoutdetails`` tells back: the holder and the masked IBAN."""

    holder: str
    masked_iban: str
    bank_bic: str | None


async def save_details(
    db: Database, worker_id: int, *, holder: str, iban_text: str, now: datetime
) -> SavedDetails:
    """Check and store a worker's payout details (replacing older ones); audited, masked."""
    holder = parse_holder(holder)
    iban = parse_iban(iban_text)
    bic = _bank_bic(iban)
    async with db.write() as tx:
        await sql.upsert_details(tx, PayoutDetails(worker_id, holder, iban, bic, now))
        await write_audit(
            tx,
            actor_id=worker_id,
            action="payoutdetails.saved",
            detail={"iban": mask_iban(iban)},
            now=now,
        )
    return SavedDetails(holder, mask_iban(iban), bic)


def _bank_bic(iban: str) -> str | None:
    """The bank's BIC as schwifty's registry knows it (None when it does not)."""
    try:
        bic = IBAN(iban).bic
    except iban_errors.SchwiftyException:
        return None
    return str(bic.compact) if bic is not None else None


async def details_of(db: Database, worker_id: int) -> PayoutDetails | None:
    async with db.read() as tx:
        return await sql.details_of(tx, worker_id)


async def has_details(db: Database, worker_id: int) -> bool:
    """Whether a worker gave payout details (``/earnings`` reminds one with none)."""
    return await details_of(db, worker_id) is not None

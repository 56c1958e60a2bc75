"""Wiring room: the services every handler reaches through its typed context (and the engine's
runtime state)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import CallbackContext, ExtBot

from bot.clock import Clock, SystemClock
from bot.compute import Compute
from bot.config import Settings
from bot.engine.outbox import Outbox
from bot.engine.runtime import TaskRuntime
from bot.errors import PermissionDenied
from bot.floor import FloorMemo
from bot.gold import QualityRules
from bot.heartbeat import Heartbeat
from bot.i18n import Catalogue, Translator, language_for
from bot.intake.gate import IntakeGate
from bot.refit import RefitMemo
from storage.db import Database, Tx, WriteTx
from storage.users import Role, User, get_user, roles_of, touch_user

if TYPE_CHECKING:
    from bot.engine.alerts import AdminAlerts

log = logging.getLogger(__name__)


class Services:
    """What the application shares between handlers (the ``bot_data`` of python-telegram-bot).

    python-telegram-bot builds it with no arguments; ``build_application`` configures it and
    ``post_init`` opens the database.
    """

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._catalogue: Catalogue | None = None
        self._db: Database | None = None
        self.clock: Clock = SystemClock()
        # Gold share, pause and early-stopping thresholds (tests set small ones).
        self.quality: QualityRules = QualityRules()
        # The worker loop's in-memory state (locks, message views, busy workers): one per app.
        self.runtime: TaskRuntime = TaskRuntime()
        # Every rate-limited send or edit goes through the outbox (bot/engine/outbox.py);
        # build_application sets its budget, post_init starts it.
        self.outbox: Outbox = Outbox()
        self.alerts: AdminAlerts | None = None  # grouped admin alerts, made in post_init
        self.intake: IntakeGate = IntakeGate()  # uploads checked at once, per user and overall
        # What the floor job's last passes found that moved nothing (only to skip reading).
        self.floor_memo: FloorMemo = FloorMemo()
        # Which dynamic batches the refit job read last, at which answer count (only to skip).
        self.refit_memo: RefitMemo = RefitMemo()
        # Started in post_init, stopped in post_shutdown (bot.app).
        self.compute: Compute | None = None
        self.heartbeat: Heartbeat | None = None

    def configure(self, settings: Settings, catalogue: Catalogue, clock: Clock) -> None:
        self._settings = settings
        self._catalogue = catalogue
        self.clock = clock
        self.quality = settings.quality  # tests may set smaller thresholds after this

    @property
    def settings(self) -> Settings:
        assert self._settings is not None, "Services.configure() was not called"
        return self._settings

    @property
    def catalogue(self) -> Catalogue:
        assert self._catalogue is not None, "Services.configure() was not called"
        return self._catalogue

    @property
    def db(self) -> Database:
        assert self._db is not None, "the database is opened in post_init"
        return self._db

    @db.setter
    def db(self, value: Database | None) -> None:
        self._db = value

    async def open_database(self) -> Database:
        """Open and migrate the database once: persistence loads conversations before
        ``post_init`` runs, and ``post_init`` opens it too."""
        if self._db is None:
            self._db = await Database.open(self.settings.database_path)
            applied = await self._db.migrate()
            if applied:
                log.info("applied migrations %s", applied)
        return self._db

    def translator(self, language: str, timezone: str | None = None) -> Translator:
        zone = ZoneInfo(timezone) if timezone else self.settings.timezone
        return Translator(self.catalogue, language, zone, self.settings.currency)


@dataclass(frozen=True)
class Actor:
    """The person behind an update: their record, roles and a translator in their language."""

    user: User
    roles: frozenset[Role]
    t: Translator
    private_chat: bool

    def has(self, role: Role) -> bool:
        return role in self.roles

    def require(self, role: Role) -> None:
        """Raise ``PermissionDenied`` without ``role``; admin actions only in private chats."""
        if role not in self.roles:
            raise PermissionDenied("error.role_required", role=self.t(f"role.{role}"))
        if role == "admin" and not self.private_chat:
            raise PermissionDenied("error.admin_private_only")


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], Services]):
    """The context handlers receive: ``context.services`` and ``await context.actor(update)``."""

    _actor: Actor | None = None

    @property
    def services(self) -> Services:
        return self.bot_data

    async def actor(self, update: Update) -> Actor:
        """Load (once per update) the user who sent ``update``, creating or refreshing their row."""
        if self._actor is None:
            self._actor = await load_actor(self.services, update)
        return self._actor


async def load_actor(services: Services, update: Update) -> Actor:
    """Find or record the sender of ``update`` and bind a translator to their language."""
    sender = update.effective_user
    if sender is None:
        raise ValueError("update has no sender")
    db = services.db
    language = language_for(sender.language_code)
    found, roles = await db.run_read(_user_and_roles, sender.id)
    if found is not None and not _stale(found, sender.first_name, sender.username, language):
        user = found
    else:
        now = services.clock.now()
        user, roles = await db.run_write(
            _touch_actor, sender.id, sender.first_name, sender.username, language, now
        )
    chat = update.effective_chat
    return Actor(
        user=user,
        roles=roles,
        t=services.translator(user.language, user.timezone),
        private_chat=chat is None or chat.type == "private",
    )


async def _user_and_roles(tx: Tx, user_id: int) -> tuple[User | None, frozenset[Role]]:
    return await get_user(tx, user_id), await roles_of(tx, user_id)


async def _touch_actor(
    tx: WriteTx,
    user_id: int,
    first_name: str,
    username: str | None,
    language: str,
    now: datetime,
) -> tuple[User, frozenset[Role]]:
    user = await touch_user(
        tx, user_id=user_id, first_name=first_name, username=username, language=language, now=now
    )
    return user, await roles_of(tx, user_id)


def _stale(user: User, first_name: str, username: str | None, language: str) -> bool:
    return (
        user.first_name != first_name
        or user.username != username
        or user.unreachable_at is not None
        or (not user.language_chosen and user.language != language)
    )

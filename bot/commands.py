"""The command list: which role may use which command, for /help, the menus and refusals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from storage.users import Role


@dataclass(frozen=True)
class Command:
    """A slash command, the role it needs (None: everyone) and its catalogue description."""

    name: str
    role: Role | None

    @property
    def description_key(self) -> str:
        return f"command.{self.name}"


# Only commands that are implemented appear here; tests check each has a registered handler.
COMMANDS: tuple[Command, ...] = (
    Command("start", None),
    Command("help", None),
    Command("language", None),
    Command("mydata", None),
    Command("forgetme", None),
    Command("earnings", "worker"),
    Command("history", "worker"),
    Command("balance", "requester"),
    Command("fund", "requester"),
    Command("template", "requester"),
    Command("newbatch", "requester"),
    Command("batches", "requester"),
    Command("batch", "requester"),
    Command("pausebatch", "requester"),
    Command("resumebatch", "requester"),
    Command("cancelbatch", "requester"),
    Command("results", "requester"),
    Command("bonus", "requester"),
    Command("worker", "requester"),
    Command("grant", "admin"),
    Command("revoke", "admin"),
    Command("block", "admin"),
    Command("unblock", "admin"),
    Command("user", "admin"),
    Command("audit", "admin"),
    Command("correct", "admin"),
    Command("topup", "admin"),
    Command("closemonth", "admin"),
    Command("payouts", "admin"),
    Command("exportpayouts", "admin"),
    Command("health", "admin"),
    Command("task", "worker"),
    Command("ready", "worker"),
    Command("pause", "worker"),
    Command("resume", "worker"),
    Command("availability", "worker"),
    Command("quiet", "worker"),
    Command("timezone", "worker"),
    Command("stats", "worker"),
    Command("appeal", "worker"),
    Command("payoutdetails", "worker"),
    Command("unmute", "worker"),
)

_BY_NAME = {command.name: command for command in COMMANDS}


def command_named(name: str) -> Command | None:
    """The command called ``name`` (without the slash), or None."""
    return _BY_NAME.get(name.lower())


def commands_for(roles: Iterable[Role]) -> list[Command]:
    """The commands open to someone holding ``roles``, in menu order."""
    held = set(roles)
    return [c for c in COMMANDS if c.role is None or c.role in held]

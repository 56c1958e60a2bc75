"""The one exception hierarchy of Petites Mains; each user-facing error names its catalogue message.

    PetitesMainsError
    ├── ConfigError                 a setting is missing or malformed (start-up only)
    ├── StorageError                the database is not as the code expects
    │   └── MigrationError          a numbered migration failed or is out of order
    ├── MediaError                  a decoder failed outside of user input (ffmpeg missing, ...)
    │   └── FfmpegError             ffmpeg exited with an error (stderr summarised)
    │       └── FfmpegTimeout       ffmpeg ran past its time limit and was killed
    └── UserError                   something the user is told, in their language
        ├── PermissionDenied        the user's roles do not allow the action
        ├── InvalidInput            a command argument, a file or a manifest is not acceptable
        │   └── BatchRejected       an upload has invalid parts; ``problems`` names every one
        ├── NotFound                the thing asked for does not exist (or is not theirs)
        └── LedgerError             a money movement was refused
            ├── InsufficientFunds   a requester or escrow account would go below zero
            ├── CapExceeded         a reward would take a worker over the monthly cap
            └── IllegalTransition   a payout statement cannot take that step

A ``UserError`` carries a message key of the catalogue (``bot/locales``) and its parameters, never
text: the handler layer renders it in the user's language. A ``Problem`` is the same pair (key and
parameters) as a value, so that a refusal can list several.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


class PetitesMainsError(Exception):
    """Base of every error the project raises on purpose."""


class ConfigError(PetitesMainsError):
    """A configuration variable is missing or malformed."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


class StorageError(PetitesMainsError):
    """The database is not in the state the code expects."""


class MigrationError(StorageError):
    """A numbered migration could not be applied."""


class MediaError(PetitesMainsError):
    """Media tooling failed for a reason that is not the user's input."""


class FfmpegError(MediaError):
    """ffmpeg exited with an error; callers decoding user files turn it into ``InvalidInput``."""

    def __init__(self, message: str, *, returncode: int | None = None, stderr: str = "") -> None:
        super().__init__(f"{message}: {stderr}" if stderr else message)
        self.returncode = returncode
        self.stderr = stderr


class FfmpegTimeout(FfmpegError):
    """ffmpeg ran past its time limit and was killed (``pid`` is the reaped process)."""

    def __init__(self, timeout: float, *, pid: int, stderr: str = "") -> None:
        super().__init__(f"ffmpeg killed after {timeout:g} s", stderr=stderr)
        self.timeout = timeout
        self.pid = pid


class UserError(PetitesMainsError):
    """An error shown to the user through the message catalogue."""

    message_key = "error.generic"

    def __init__(self, message_key: str | None = None, **params: Any) -> None:
        self.message_key = message_key or type(self).message_key
        self.params = params
        super().__init__(f"{self.message_key} {params}" if params else self.message_key)


class PermissionDenied(UserError):
    """The user's roles do not allow this action."""

    message_key = "error.permission_denied"


class InvalidInput(UserError):
    """An argument, file or manifest is not acceptable."""

    message_key = "error.invalid_input"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: a catalogue message key and its parameters."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, error: UserError) -> Problem:
        """The problem an error describes."""
        return cls(error.message_key, dict(error.params))


class BatchRejected(InvalidInput):
    """An upload is refused whole; ``problems`` lists every invalid part, in a stable order."""

    message_key = "batch.rejected"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(count=len(self.problems))

    def __str__(self) -> str:
        return f"{self.message_key}: " + "; ".join(f"{p.key} {p.params}" for p in self.problems)


class NotFound(UserError):
    """The thing asked for does not exist, or does not belong to the user."""

    message_key = "error.not_found"


class LedgerError(UserError):
    """A money movement was refused."""

    message_key = "ledger.refused"


class InsufficientFunds(LedgerError):
    """A requester or escrow account would go below zero."""

    message_key = "ledger.insufficient_funds"


class CapExceeded(LedgerError):
    """A reward would take a worker above the monthly cap."""

    message_key = "ledger.cap_exceeded"


class IllegalTransition(LedgerError):
    """A payout statement cannot take the requested step from its current state."""

    message_key = "payouts.illegal_transition"

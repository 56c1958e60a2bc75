"""Guided batch creation, the draft kept between steps: the answers, the files sent (Telegram
``file_id``s, downloaded only at the end), the worked examples and gold answers, as JSON.

The ``/newbatch`` conversation is persistent (``bot/persistence.py``), so everything here is a
JSON value in ``user_data`` and a draft survives a restart. No Telegram here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, cast

from bot.batch_settings import BatchType
from bot.guided import FileKind, ManifestValue
from bot.guided_review import Worked

# Conversation states (STYLE.md 6); stored, so a number never changes meaning.
TYPE, TITLE, INSTRUCTIONS, LABELS, MULTIPLE, SECONDS, ANSWERS, MEDIA = range(8)
TIME_LIMIT, EXAMPLE_FILE, EXAMPLE_ANSWER, EXAMPLE_WHY, GOLD, REVIEW = range(8, 14)

SentAs = Literal["photo", "voice", "audio", "document"]


@dataclass
class Pending:
    """A file sent during the conversation, downloaded only at the end (``sent_as``: the kind
    of message it came in, to show it again the same way)."""

    file_id: str
    name: str
    kind: FileKind
    size: int | None
    sent_as: SentAs = "document"


@dataclass
class Draft:
    """The answers so far by manifest field, the files, examples and gold answers."""

    data: dict[str, Any]

    @classmethod
    def new(cls) -> dict[str, Any]:
        return {"answers": {"type": "image_tag"}, "files": []}

    @property
    def answers(self) -> dict[str, ManifestValue]:
        return cast(dict[str, ManifestValue], self.data["answers"])

    @property
    def files(self) -> list[Pending]:
        return [Pending(**pending) for pending in self.data["files"]]

    def add_file(self, pending: Pending) -> int:
        self.data["files"].append(asdict(pending))
        return len(self.data["files"])

    def clear_files(self) -> None:
        """Forget the files, and the gold answers given for them."""
        self.data["files"].clear()
        self.data["gold"] = []

    @property
    def type(self) -> BatchType:
        return cast(BatchType, self.answers["type"])

    # -- the last steps ---------------------------------------------------------------------------
    @property
    def editing(self) -> bool:
        """A field is being changed from the review: its answer returns there."""
        return bool(self.data.get("editing", False))

    @editing.setter
    def editing(self, value: bool) -> None:
        self.data["editing"] = value

    @property
    def examples(self) -> list[tuple[Pending, Worked]]:
        return [
            (Pending(**entry["file"]), Worked(**entry["worked"]))
            for entry in self.data.get("examples", [])
        ]

    def add_example(self, pending: Pending) -> None:
        """A worked example's file; its answer and why follow (``set_example``)."""
        self.data["example"] = {"file": asdict(pending)}

    def set_example(self, **fields: str) -> None:
        self.data["example"].update(fields)

    @property
    def example(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.data["example"])

    def keep_example(self) -> None:
        entry = self.data.pop("example")
        pending = Pending(**entry["file"])
        worked = Worked(pending.name, entry["answer"], entry["why"])
        self.data.setdefault("examples", []).append(
            {"file": entry["file"], "worked": asdict(worked)}
        )

    def clear_examples(self) -> None:
        self.data["examples"] = []

    @property
    def gold(self) -> list[Worked]:
        return [Worked(**entry) for entry in self.data.get("gold", [])]

    def add_gold(self, worked: Worked) -> None:
        self.data.setdefault("gold", []).append(asdict(worked))

    def clear_gold(self) -> None:
        self.data["gold"] = []
        self.data["gold_at"] = 0

    @property
    def gold_at(self) -> int:
        """The index in ``files`` of the next item offered for a gold answer."""
        return int(self.data.get("gold_at", 0))

    @gold_at.setter
    def gold_at(self, value: int) -> None:
        self.data["gold_at"] = value

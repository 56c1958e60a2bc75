"""Issue 14's optional manifest parts: ``examples.csv`` (file,answer,why) whose files are shown
as worked examples and never become items, ``gold.csv``'s optional why column, and
``min_level``; a bad one is refused by name with the rest of the upload."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.batch_settings import Example
from bot.batches import create_draft
from bot.errors import BatchRejected, Problem
from bot.intake.prepare import PreparedBatch, prepare_batch
from bot.tasks import task_type
from storage.batches import get_batch, get_item, items_of
from storage.db import Database
from tests.builders import NOW
from tests.intake.media import IMAGE_TAG, make_zip, png, toml

RATE = 1_000
EXAMPLES = "file,answer,why\nexamples/car.png,Car,The red shape has wheels.\n"


def upload(**overrides: object) -> dict[str, bytes]:
    files = {f"photo{n}.png": png(n) for n in range(1, 4)}
    files["examples/car.png"] = png(40)
    files["batch.toml"] = toml(**{**IMAGE_TAG, **overrides})
    files["examples.csv"] = EXAMPLES.encode()
    files["gold.csv"] = b"file,answer,why\nphoto1.png,car,Four wheels: a car.\nphoto2.png,dog,\n"
    return files


def files_in(data_dir: Path) -> set[Path]:
    return set(data_dir.rglob("*"))


async def prepare(files: dict[str, bytes], data_dir: Path) -> PreparedBatch:
    return await prepare_batch(make_zip(files), data_dir=data_dir, min_hourly_rate=RATE)


async def refused(files: dict[str, bytes], data_dir: Path) -> list[Problem]:
    with pytest.raises(BatchRejected) as caught:
        await prepare(files, data_dir)
    return list(caught.value.problems)


async def test_examples_are_stored_apart_from_items_and_travel_with_the_batch(
    data_dir: Path, db: Database
) -> None:
    batch = await prepare(upload(min_level="confirmed"), data_dir)
    assert [item.source_path for item in batch.items] == ["photo1.png", "photo2.png", "photo3.png"]
    (example,) = batch.spec.examples
    assert (example.file, example.answer, example.why) == (
        "examples/car.png",
        "car",  # canonical, as a gold answer
        "The red shape has wheels.",
    )
    assert example.media_kind == "image"
    assert (data_dir / example.media_path).is_file()
    assert batch.spec.min_level == "confirmed"
    assert [item.gold_why for item in batch.items] == ["Four wheels: a car.", None, None]

    batch_id = await create_draft(db, batch, requester_id=7001, origin="zip", now=NOW)
    stored = await db.run_read(get_batch, batch_id)
    assert stored is not None
    assert stored.examples == (example,)
    assert stored.min_level == "confirmed"
    items = await db.run_read(items_of, batch_id)
    first = await db.run_read(get_item, items[0].id)
    assert first is not None
    assert first.gold_why == "Four wheels: a car."
    assert task_type("image_tag").gold_text(stored, example.answer) == "car"


async def test_a_batch_without_the_optional_parts_keeps_the_defaults(data_dir: Path) -> None:
    files = upload()
    del files["examples.csv"], files["examples/car.png"]
    files["gold.csv"] = b"file,answer\nphoto1.png,car\n"
    batch = await prepare(files, data_dir)
    assert (batch.spec.examples, batch.spec.min_level) == ((), "newcomer")
    assert [item.gold_why for item in batch.items] == [None, None, None]


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"min_level": "guru"}, "batch.level_unknown"),
        ({"examples.csv": b"file,answer\nexamples/car.png,car\n"}, "batch.examples_header"),
        ({"examples.csv": b"file,answer,why\nexamples/car.png,car,\n"}, "batch.why_invalid"),
        ({"examples.csv": b"file,answer,why\nexamples/car.png,plane,Wings.\n"}, None),
        ({"examples.csv": b"file,answer,why\nnope.png,car,Wheels.\n"}, None),
    ],
)
async def test_a_bad_optional_part_is_refused_by_name(
    data_dir: Path, change: dict[str, object], key: str | None
) -> None:
    files = upload(**{k: v for k, v in change.items() if k == "min_level"})
    files.update({k: v for k, v in change.items() if isinstance(v, bytes)})
    before = files_in(data_dir)
    problems = await refused(files, data_dir)
    if key is not None:
        assert key in [p.key for p in problems]
    else:
        assert {p.key for p in problems} & {
            "batch.gold_answer_not_label",
            "batch.gold_unknown_item",
        }
    assert files_in(data_dir) == before  # nothing stored


async def test_more_than_five_examples_are_refused(data_dir: Path) -> None:
    files = upload()
    rows = ["file,answer,why"]
    for n in range(6):
        files[f"ex{n}.png"] = png(60 + n)
        rows.append(f"ex{n}.png,car,Wheels.")
    files["examples.csv"] = ("\n".join(rows) + "\n").encode()
    assert "batch.examples_too_many" in [p.key for p in await refused(files, data_dir)]


def test_an_example_round_trips_as_json() -> None:
    example = Example("a.png", "car", "Wheels.", "media/ab/x.jpg", "image")
    assert Example.from_json(example.to_json()) == example

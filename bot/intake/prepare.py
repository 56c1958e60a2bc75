"""Intake, the whole upload: a requester's ZIP checked part by part, media stored, or nothing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from bot.batch_settings import Example
from bot.errors import BatchRejected, InvalidInput, Problem
from bot.intake.archive import SafeZip, ZipLimits, open_zip
from bot.intake.audio import AudioLimits, decode_audio, is_audio_name
from bot.intake.chunking import MAX_MS as CHUNK_MAX_MS
from bot.intake.chunking import split_recording
from bot.intake.ffmpeg import encode_ogg_opus
from bot.intake.images import MAX_PIXELS, is_image_name, normalise_image
from bot.intake.manifest import (
    DEFAULT_EXAMPLES_NAME,
    DEFAULT_GOLD_NAME,
    MANIFEST_NAME,
    BatchSpec,
    ManifestResult,
    parse_gold,
    parse_manifest,
)
from bot.intake.pricing import Quote, floor_warning
from bot.intake.sentences import Sentence, is_sentences_name, read_sentences
from bot.intake.store import Staging, StoredMedia
from bot.review import review_reward
from bot.tasks import task_type

ItemKind = Literal["image", "audio", "text"]
MANIFEST_MAX_BYTES = 64 * 1024
GOLD_MAX_BYTES = 2 * 1024 * 1024
EXAMPLES_MAX = 5  # worked examples shown before a worker's first task of a batch


@dataclass(frozen=True)
class IntakeLimits:
    """The limits of an upload: its archive, each recording, each image, each transcription chunk.

    The defaults are the design's; ``bot/config.py`` reads them from the environment."""

    zip: ZipLimits = field(default_factory=ZipLimits)
    audio: AudioLimits = field(default_factory=AudioLimits)
    max_pixels: int = MAX_PIXELS
    chunk_ms: int = CHUNK_MAX_MS


@dataclass(frozen=True)
class PreparedItem:
    """One future task: its stored media and, for transcription, where it lies in its recording."""

    source_path: str
    kind: ItemKind
    media: StoredMedia
    duration_ms: int | None = None
    recording_path: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    gold_answer: str | None = None
    gold_why: str | None = None
    text: str | None = None  # a text item (a sentence): the text itself


@dataclass(frozen=True)
class PreparedBatch:
    """A fully valid upload whose media are in place under the data dir; nothing is in the database.

    ``warnings`` are accepted with a visible notice (a reward below the fair-pay floor).
    """

    spec: BatchSpec
    items: tuple[PreparedItem, ...]
    quote: Quote
    warnings: tuple[Problem, ...] = ()
    review_reward: int | None = None  # cents per review answer, with a review step

    @property
    def gold_items(self) -> int:
        """How many items carry a gold answer."""
        return sum(1 for item in self.items if item.gold_answer is not None)


async def prepare_batch(
    zip_bytes: bytes,
    *,
    data_dir: Path,
    min_hourly_rate: int,
    limits: IntakeLimits | None = None,
) -> PreparedBatch:
    """Check a batch ZIP whole and store its media; raise ``BatchRejected`` naming every problem.

    Media are written to a staging folder inside ``data_dir`` and moved to their content address
    only when every part passed; a refused upload leaves the data dir as it was.
    """
    limits = limits or IntakeLimits()
    archive = await asyncio.to_thread(open_zip, zip_bytes, limits.zip)
    try:
        return await _Intake(archive, data_dir, min_hourly_rate, limits).run()
    finally:
        archive.close()


@dataclass
class _Intake:
    archive: SafeZip
    data_dir: Path
    min_hourly_rate: int
    limits: IntakeLimits
    problems: list[Problem] = field(default_factory=list)
    items: list[PreparedItem] = field(default_factory=list)
    gold_why: dict[str, str] = field(default_factory=dict)
    _stop_reading: bool = False
    text_items: bool = False  # the batch's items are sentences of text files

    async def run(self) -> PreparedBatch:
        manifest = await self._manifest()
        spec = manifest.spec
        self.text_items = _takes_text_items(manifest)
        special = {MANIFEST_NAME, manifest.gold or "", manifest.examples or ""}
        worked = await self._examples(manifest, special)
        media = self._classify(spec, special | set(worked))
        sentences = await self._sentences(media)
        names = {path for path, kind in media.items() if kind != "text"}
        gold = await self._gold(manifest, names | {s.name for s in sentences})
        staging = await asyncio.to_thread(Staging, self.data_dir)
        try:
            examples = [await self._example(example, spec, staging) for example in worked.values()]
            for path, kind in media.items():
                if kind != "text":
                    await self._item(path, kind, spec, gold.get(path), staging)
            for sentence in sentences:
                await self._sentence(sentence, gold.get(sentence.name), staging)
            if self.items and all(item.gold_answer is not None for item in self.items):
                # Gold items are only ever mixed into real work: alone, nothing would be offered.
                self.problems.append(Problem("batch.only_gold", {"count": len(self.items)}))
            if self.problems or spec is None:
                raise BatchRejected(self.problems)
            await asyncio.to_thread(staging.commit)
        finally:
            await asyncio.to_thread(staging.discard)
        return self._prepared(replace(spec, examples=tuple(e for e in examples if e)))

    async def _manifest(self) -> ManifestResult:
        paths = set(self.archive.paths)
        gold_default = DEFAULT_GOLD_NAME in paths
        examples_default = DEFAULT_EXAMPLES_NAME in paths
        if MANIFEST_NAME not in paths:
            self.problems.append(Problem("batch.manifest_missing", {"file": MANIFEST_NAME}))
            return ManifestResult(
                None,
                (),
                DEFAULT_GOLD_NAME if gold_default else None,
                examples=DEFAULT_EXAMPLES_NAME if examples_default else None,
            )
        data = await self._read_small(MANIFEST_NAME, MANIFEST_MAX_BYTES)
        if data is None:
            return ManifestResult(None, (), None)
        result = parse_manifest(
            data,
            min_hourly_rate=self.min_hourly_rate,
            gold_default=gold_default,
            examples_default=examples_default,
        )
        self.problems.extend(result.problems)
        return result

    def _classify(self, spec: BatchSpec | None, special: set[str]) -> dict[str, ItemKind]:
        """Items by path, in path order; other files are problems."""
        media: dict[str, ItemKind] = {}
        for path in self.archive.paths:
            if path in special:
                continue
            kind = _media_kind(path)
            if kind is None and is_sentences_name(path) and self.text_items:
                kind = "text"
            if kind is None:
                self.problems.append(Problem("batch.file_unsupported", {"file": path}))
            elif spec is not None and kind not in task_type(spec.type).media_kinds:
                params = {"file": path, "type": spec.type, "kind": kind}
                self.problems.append(Problem("batch.item_kind_not_allowed", params))
            else:
                media[path] = kind
        if not media:
            self.problems.append(Problem("batch.no_items"))
        return media

    async def _sentences(self, media: dict[str, ItemKind]) -> list[Sentence]:
        """Every sentence of the upload's sentence files, in path then file order."""
        found: list[Sentence] = []
        for path in (path for path, kind in media.items() if kind == "text"):
            data = await self._read(path)
            if data is None:
                continue
            sentences, problems = read_sentences(path, data)
            found += sentences
            self.problems.extend(problems)
        if not found and media and all(kind == "text" for kind in media.values()):
            self.problems.append(Problem("batch.no_items"))
        return found

    async def _sentence(self, sentence: Sentence, gold: str | None, staging: Staging) -> None:
        stored = await self._store(staging, sentence.text.encode("utf-8"), "txt")
        if stored is not None:
            self.items.append(
                PreparedItem(sentence.name, "text", stored, gold_answer=gold, text=sentence.text)
            )

    async def _gold(self, manifest: ManifestResult, items: set[str]) -> dict[str, str]:
        name, rules = manifest.gold, manifest.rules
        if name is None or rules is None:
            return {}
        if name not in self.archive.paths:
            self.problems.append(Problem("batch.gold_missing", {"field": "gold", "file": name}))
            return {}
        data = await self._read_small(name, GOLD_MAX_BYTES)
        if data is None:
            return {}
        result = parse_gold(data, rules=rules, items=items, name=name)
        self.problems.extend(result.problems)
        self.gold_why = result.why
        return result.answers

    async def _examples(self, manifest: ManifestResult, special: set[str]) -> dict[str, Example]:
        """The worked examples of ``examples.csv`` by file (media files that are not items)."""
        name, rules = manifest.examples, manifest.rules
        if name is None or rules is None:
            return {}
        if name not in self.archive.paths:
            self.problems.append(Problem("batch.gold_missing", {"field": "examples", "file": name}))
            return {}
        data = await self._read_small(name, GOLD_MAX_BYTES)
        if data is None:
            return {}
        files = [p for p in self.archive.paths if p not in special and _media_kind(p)]
        result = parse_gold(data, rules=rules, items=files, name=name, why_required=True)
        self.problems.extend(result.problems)
        if len(result.answers) > EXAMPLES_MAX:
            self.problems.append(
                Problem("batch.examples_too_many", {"file": name, "limit": EXAMPLES_MAX})
            )
        return {
            path: Example(file=path, answer=answer, why=result.why.get(path, ""))
            for path, answer in result.answers.items()
        }

    async def _example(
        self, example: Example, spec: BatchSpec | None, staging: Staging
    ) -> Example | None:
        """Store an example's media: an image as JPEG, an audio clip as OGG/Opus (never cut)."""
        kind = _media_kind(example.file)
        data = await self._read(example.file)
        if data is None or kind is None:
            return None
        if spec is not None and kind not in task_type(spec.type).media_kinds:
            params = {"file": example.file, "type": spec.type, "kind": kind}
            self.problems.append(Problem("batch.item_kind_not_allowed", params))
            return None
        try:
            if kind == "image":
                jpeg = await asyncio.to_thread(
                    normalise_image, data, name=example.file, max_pixels=self.limits.max_pixels
                )
                stored = await self._store(staging, jpeg, "jpg")
            else:
                segment = await decode_audio(data, name=example.file, limits=self.limits.audio)
                stored = await self._store_audio(staging, segment)
        except InvalidInput as error:
            self.problems.append(Problem.of(error))
            return None
        if stored is None:
            return None
        return replace(example, media_path=stored.path, media_kind=kind)

    async def _read_small(self, path: str, limit: int) -> bytes | None:
        size = next(member.size for member in self.archive.members if member.path == path)
        if size > limit:
            params = {"file": path, "limit_kb": limit // 1024}
            self.problems.append(Problem("batch.file_too_large", params))
            return None
        return await self._read(path)

    async def _read(self, path: str) -> bytes | None:
        """A member's bytes, or None with the problem recorded; a blown total stops all reading."""
        if self._stop_reading:
            return None
        try:
            return await asyncio.to_thread(self.archive.read, path)
        except InvalidInput as error:
            self.problems.append(Problem.of(error))
            self._stop_reading = error.message_key == "batch.zip_too_large"
            return None

    async def _item(
        self,
        path: str,
        kind: ItemKind,
        spec: BatchSpec | None,
        gold: str | None,
        staging: Staging,
    ) -> None:
        """Check one media file; store it (or its chunks) unless the upload is already refused."""
        data = await self._read(path)
        if data is None:
            return
        try:
            if kind == "image":
                await self._image(path, data, gold, staging)
            elif spec is not None and task_type(spec.type).chunks_recordings:
                await self._recording(path, data, gold, staging)
            else:
                await self._clip(path, data, gold, staging)
        except InvalidInput as error:
            self.problems.append(Problem.of(error))

    async def _image(self, path: str, data: bytes, gold: str | None, staging: Staging) -> None:
        jpeg = await asyncio.to_thread(
            normalise_image, data, name=path, max_pixels=self.limits.max_pixels
        )
        stored = await self._store(staging, jpeg, "jpg")
        if stored is not None:
            why = self.gold_why.get(path)
            self.items.append(PreparedItem(path, "image", stored, gold_answer=gold, gold_why=why))

    async def _clip(self, path: str, data: bytes, gold: str | None, staging: Staging) -> None:
        segment = await decode_audio(data, name=path, limits=self.limits.audio)
        stored = await self._store_audio(staging, segment)
        if stored is not None:
            why = self.gold_why.get(path)
            self.items.append(
                PreparedItem(path, "audio", stored, len(segment), gold_answer=gold, gold_why=why)
            )

    async def _recording(self, path: str, data: bytes, gold: str | None, staging: Staging) -> None:
        """A transcription recording: cut at pauses, each chunk an item that knows its place."""
        segment = await decode_audio(data, name=path, limits=self.limits.audio)
        chunks = await asyncio.to_thread(split_recording, segment, max_ms=self.limits.chunk_ms)
        if gold is not None and len(chunks) > 1:
            self.problems.append(Problem("batch.gold_recording_chunked", {"file": path}))
        for chunk in chunks:
            stored = await self._store_audio(staging, chunk.audio)
            if stored is None:
                return
            self.items.append(
                PreparedItem(
                    path,
                    "audio",
                    stored,
                    chunk.duration_ms,
                    recording_path=path,
                    start_ms=chunk.start_ms,
                    end_ms=chunk.end_ms,
                    gold_answer=gold,
                    gold_why=self.gold_why.get(path),
                )
            )

    async def _store(self, staging: Staging, data: bytes, suffix: str) -> StoredMedia | None:
        """Stage a file, unless a problem already dooms the upload (then checking is enough)."""
        if self.problems:
            return None
        return await asyncio.to_thread(staging.store, data, suffix)

    async def _store_audio(self, staging: Staging, segment: Any) -> StoredMedia | None:
        """Encode as mono OGG/Opus and stage, unless the upload is already refused."""
        if self.problems:
            return None
        return await self._store(staging, await encode_ogg_opus(segment), "ogg")

    def _prepared(self, spec: BatchSpec) -> PreparedBatch:
        items = tuple(self.items)
        quote = Quote.build(
            items=len(items),
            gold_items=sum(1 for item in items if item.gold_answer is not None),
            answers_per_item=spec.answers_per_item,
            reward=spec.reward,
            seconds_per_task=spec.seconds_per_task,
            min_hourly_rate=self.min_hourly_rate,
        )
        warning = floor_warning(spec.reward, spec.seconds_per_task, self.min_hourly_rate)
        review = review_reward(self.min_hourly_rate) if spec.review else None
        return PreparedBatch(spec, items, quote, (warning,) if warning else (), review)


def _media_kind(path: str) -> ItemKind | None:
    """What a file in the ZIP is by its name: an image, an audio clip, or neither."""
    return "image" if is_image_name(path) else "audio" if is_audio_name(path) else None


def _takes_text_items(manifest: ManifestResult) -> bool:
    """Whether the batch's items are the sentences of its ``.txt``/``.csv`` files (known from the
    type even when other fields of the manifest have problems)."""
    return manifest.rules is not None and "text" in task_type(manifest.rules.type).media_kinds

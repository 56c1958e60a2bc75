"""Unit tests of the sandbox's parts: formatting, spec decoding, rate limits, files, users."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from sandbox import RateLimit, SandboxServer
from sandbox.errors import ApiError
from sandbox.files import FileStore, ogg_duration, unique_id_for
from sandbox.formatting import format_text, parse_html, parse_markdown, parse_markdown_v2
from sandbox.ratelimit import RateLimiter
from sandbox.spec import default_spec
from sandbox.users import detect_entities

# -- formatting ------------------------------------------------------------------------------


def test_html_entities_use_utf16_offsets() -> None:
    text, entities = format_text(
        '😀 <b>bold <i>both</i></b> <a href="https://x.org">l</a>', "HTML", None
    )
    assert text == "😀 bold both l"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 9},
        {"type": "italic", "offset": 8, "length": 4},
        {"type": "text_link", "offset": 13, "length": 1, "url": "https://x.org"},
    ]


def test_html_pre_language_and_escapes() -> None:
    assert parse_html('<pre><code class="language-python">a &lt; b</code></pre>') == (
        "a < b",
        [{"type": "pre", "offset": 0, "length": 5, "language": "python"}],
    )
    assert parse_html("&amp;&quot;&#65;&#x42;") == ('&"AB', [])


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ("price <3", 'Unsupported start tag "3"'),
        ("<div>x</div>", 'Unsupported start tag "div"'),
        ("<b>x</i>", "Unmatched end tag"),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("a < b", 'Unsupported start tag ""'),
        ("<b", "Unclosed start tag"),
        ("<span>x</span>", 'must have class "tg-spoiler"'),
    ],
)
def test_html_errors(source: str, detail: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_html(source)
    assert caught.value.status == 400
    assert caught.value.description.startswith("Bad Request: can't parse entities: ")
    assert detail in caught.value.description


def test_markdown_v2() -> None:
    text, entities = parse_markdown_v2(r"*b* _i_ __u__ ~s~ ||p|| `c` [l](https://x\.org) 1\.5")
    assert text == "b i u s p c l 1.5"
    assert [e["type"] for e in entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "text_link",
    ]
    assert entities[-1]["url"] == "https://x.org"
    with pytest.raises(ApiError, match=r"Character '\.' is reserved"):
        parse_markdown_v2("Total: 5.00")
    with pytest.raises(ApiError, match="Can't find end of Bold entity"):
        parse_markdown_v2("*open")


def test_legacy_markdown() -> None:
    assert parse_markdown("*b* _i_ `c`") == (
        "b i c",
        [
            {"type": "bold", "offset": 0, "length": 1},
            {"type": "italic", "offset": 2, "length": 1},
            {"type": "code", "offset": 4, "length": 1},
        ],
    )
    assert parse_markdown(r"snake\_case") == ("snake_case", [])
    with pytest.raises(ApiError):
        parse_markdown("a_b")


def test_text_is_trimmed_like_telegram() -> None:
    assert format_text("  <b>hi</b> \n", "HTML", None) == (
        "hi",
        [{"type": "bold", "offset": 0, "length": 2}],
    )
    assert format_text("plain", None, None) == ("plain", [])
    with pytest.raises(ApiError, match="unsupported parse_mode"):
        format_text("x", "rtf", None)


# -- spec -----------------------------------------------------------------------------------


def test_spec_decodes_by_declared_types() -> None:
    spec = default_spec()
    method = spec.method("SENDMESSAGE")
    assert method is not None
    assert method.name == "sendMessage"
    params = spec.decode(
        method,
        {
            "chat_id": "-100123",
            "text": "123",
            "disable_notification": "true",
            "reply_markup": '{"force_reply": true}',
            "unknown": "kept",
        },
    )
    assert params == {
        "chat_id": -100123,
        "text": "123",
        "disable_notification": True,
        "reply_markup": {"force_reply": True},
        "unknown": "kept",
    }
    assert spec.decode(method, {"chat_id": "@channel"})["chat_id"] == "@channel"


def test_spec_validates_nested_objects() -> None:
    spec = default_spec()
    method = spec.method("sendMessage")
    assert method is not None
    base: dict[str, Any] = {"chat_id": 1, "text": "t"}
    spec.validate(method, base)
    with pytest.raises(ApiError, match="is required"):
        spec.validate(method, {**base, "reply_markup": {"inline_keyboard": [[{"url": "x"}]]}})
    with pytest.raises(ApiError, match="Text buttons are unallowed"):
        spec.validate(method, {**base, "reply_markup": {"inline_keyboard": [[{"text": "x"}]]}})
    with pytest.raises(ApiError, match="must be of type Integer"):
        spec.validate(method, {**base, "message_thread_id": "x"})
    media = spec.method("editMessageMedia")
    assert media is not None
    spec.validate(media, {"chat_id": 1, "message_id": 2, "media": {"type": "photo", "media": "x"}})
    with pytest.raises(ApiError):
        spec.validate(media, {"chat_id": 1, "message_id": 2, "media": {"type": "photo"}})


# -- rate limit -------------------------------------------------------------------------------


def test_rate_limiter_per_chat_and_global() -> None:
    clock = [0.0]
    limiter = RateLimiter(
        RateLimit(global_per_second=3, per_chat_per_second=1.0, burst=2), clock=lambda: clock[0]
    )
    assert limiter.acquire(1) is None
    assert limiter.acquire(1) is None
    assert limiter.acquire(1) == 1  # burst spent: one token a second
    assert limiter.acquire(2) is None
    assert limiter.acquire(3) == 1  # three calls this second overall
    clock[0] = 1.0
    assert limiter.acquire(1) is None
    slow = RateLimiter(RateLimit(per_chat_per_second=0.1, burst=1), clock=lambda: 0.0)
    assert slow.acquire(1) is None
    assert slow.acquire(1) == 10
    with pytest.raises(ValueError, match="positive"):
        RateLimit(per_chat_per_second=0)


# -- files ----------------------------------------------------------------------------------


def ogg_page(granule: int, payload: bytes) -> bytes:
    header = b"OggS" + struct.pack("<BBqIIIB", 0, 0, granule, 1, 0, 0, 1)
    return header + bytes([len(payload)]) + payload


def test_ogg_opus_duration() -> None:
    opus_head = b"OpusHead" + bytes([1, 1]) + struct.pack("<H", 312) + b"\0" * 7
    data = ogg_page(0, opus_head) + ogg_page(312 + 48000 * 5, b"audio")
    assert ogg_duration(data) == 5
    assert ogg_duration(b"not ogg") is None


def test_file_store_ids() -> None:
    store = FileStore()
    first = store.add("document", b"same", file_name="a.zip")
    second = store.add("document", b"same", file_name="b.zip")
    assert first.file_id != second.file_id
    assert first.file_unique_id == second.file_unique_id == unique_id_for("document", b"same")
    assert first.file_path.endswith(".zip")
    assert store.by_path(first.file_path) is first
    photo = store.add("photo", b"not an image")
    assert (photo.width, photo.height) == (0, 0)
    assert store.photo_sizes(photo) == [photo.as_photo_size()]


# -- users ----------------------------------------------------------------------------------


def test_detect_entities() -> None:
    assert detect_entities("/start@petitesmains_bot go https://a.b/c @someone") == [
        {"offset": 0, "length": 23, "type": "bot_command"},
        {"offset": 27, "length": 13, "type": "url"},
        {"offset": 41, "length": 8, "type": "mention"},
    ]
    assert detect_entities("a/b and 1/2") == []


async def test_user_queue_helpers(server: SandboxServer) -> None:
    user = server.user(1001, "Ana")
    assert server.user(1001) is user
    assert user.last_message is None
    with pytest.raises(TimeoutError):
        await user.next_message(timeout=0.05)
    sent = await user.send_text("first")
    edited = await user.edit_text(sent, "second")
    assert edited["text"] == "second"
    assert "edited_message" in server.pending_updates[-1]
    with pytest.raises(ValueError, match="empty"):
        await user.send_text("")
    with pytest.raises(ValueError, match="starts with"):
        await user.send_command("start")
    assert user.drain() == []
    assert user.pending == 0

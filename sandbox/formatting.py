"""Telegram text formatting: parse_mode (HTML, MarkdownV2, Markdown) to plain text + entities."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import ApiError, bad_request

Entity = dict[str, Any]

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY_RE = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|lt|gt|amp|quot);")
_ATTR_RE = re.compile(r"""([\w-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def entities_error(detail: str) -> ApiError:
    """Telegram's wording for a formatting mistake."""
    return bad_request(f"can't parse entities: {detail}")


@dataclass
class _Builder:
    parts: list[str] = field(default_factory=list)
    pos: int = 0
    entities: list[Entity] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.pos += utf16_len(text)

    def entity(self, kind: str, start: int, **extra: Any) -> None:
        if self.pos > start:
            self.entities.append(
                {"type": kind, "offset": start, "length": self.pos - start, **extra}
            )

    def result(self) -> tuple[str, list[Entity]]:
        return "".join(self.parts), self.entities


def format_text(
    text: str, parse_mode: str | None, entities: list[Entity] | None
) -> tuple[str, list[Entity]]:
    """The text and entities Telegram stores for a message (whitespace trimmed at both ends)."""
    if entities:
        plain, found = text, [dict(e) for e in entities]
    elif not parse_mode:
        plain, found = text, []
    else:
        mode = parse_mode.lower()
        if mode == "html":
            plain, found = parse_html(text)
        elif mode == "markdownv2":
            plain, found = parse_markdown_v2(text)
        elif mode == "markdown":
            plain, found = parse_markdown(text)
        else:
            raise bad_request("unsupported parse_mode")
    return _trim(plain, found)


def _trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    stripped = text.strip()
    if stripped == text:
        return text, sorted(entities, key=lambda e: (e["offset"], -e["length"]))
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    end = utf16_len(stripped)
    kept: list[Entity] = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        stop = min(end, entity["offset"] + entity["length"] - lead)
        if stop > start:
            kept.append({**entity, "offset": start, "length": stop - start})
    return stripped, sorted(kept, key=lambda e: (e["offset"], -e["length"]))


# -- HTML ---------------------------------------------------------------------------------------


@dataclass
class _Open:
    name: str
    start: int
    attrs: dict[str, str]
    language: str | None = None


def parse_html(src: str) -> tuple[str, list[Entity]]:
    """Parse Telegram's HTML subset; raise ApiError with Telegram-like wording when invalid."""
    out = _Builder()
    stack: list[_Open] = []
    i = 0
    while i < len(src):
        char = src[i]
        if char == "<":
            offset = len(src[:i].encode("utf-8"))
            closing = src.startswith("/", i + 1)
            if not closing:
                # Like Telegram, judge the tag name before looking for the closing ">".
                name_match = re.match(r"[^\s/>]*", src[i + 1 :])
                name = name_match.group(0).lower() if name_match else ""
                if name not in _HTML_TAGS:
                    raise entities_error(f'Unsupported start tag "{name}" at byte offset {offset}')
            close = src.find(">", i)
            if close == -1:
                raise entities_error(f"Unclosed start tag at byte offset {offset}")
            inner = src[i + 1 : close]
            if closing:
                name = inner[1:].strip().lower()
                if not stack:
                    raise entities_error(f"Unexpected end tag at byte offset {offset}")
                top = stack.pop()
                if name != top.name:
                    raise entities_error(
                        f'Unmatched end tag at byte offset {offset}, expected "</{top.name}>", '
                        f'found "</{name}>"'
                    )
                _close_html(out, top, stack)
            else:
                attrs = _html_attrs(inner[len(name) :])
                if name == "span" and attrs.get("class") != "tg-spoiler":
                    raise entities_error(
                        f'Tag "span" must have class "tg-spoiler" at byte offset {offset}'
                    )
                stack.append(_Open(name, out.pos, attrs))
            i = close + 1
        elif char == "&":
            match = _HTML_ENTITY_RE.match(src, i)
            if match:
                out.add(html.unescape(match.group(0)))
                i = match.end()
            else:
                out.add("&")
                i += 1
        else:
            stop = i
            while stop < len(src) and src[stop] not in "<&":
                stop += 1
            out.add(src[i:stop])
            i = stop
    if stack:
        raise entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return out.result()


def _html_attrs(text: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for match in _ATTR_RE.finditer(text):
        value = match.group(2) or match.group(3) or match.group(4) or ""
        attrs[match.group(1).lower()] = html.unescape(value)
    return attrs


def _close_html(out: _Builder, tag: _Open, stack: list[_Open]) -> None:
    kind = _HTML_TAGS[tag.name]
    if tag.name == "code" and stack and stack[-1].name == "pre":
        language = tag.attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1].language = language.removeprefix("language-")
            return
    if kind == "text_link":
        if tag.attrs.get("href"):
            out.entity(kind, tag.start, url=tag.attrs["href"])
    elif kind == "pre":
        extra = {"language": tag.language} if tag.language else {}
        out.entity(kind, tag.start, **extra)
    elif kind == "blockquote":
        out.entity("expandable_blockquote" if "expandable" in tag.attrs else kind, tag.start)
    elif kind == "custom_emoji":
        out.entity(kind, tag.start, custom_emoji_id=tag.attrs.get("emoji-id", ""))
    else:
        out.entity(kind, tag.start)


# -- MarkdownV2 ---------------------------------------------------------------------------------

_MDV2_MARKERS = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough"}
_MDV2_MARKERS["||"] = "spoiler"


def parse_markdown_v2(src: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2, including its rule that reserved characters must be escaped."""
    out = _Builder()
    stack: list[tuple[str, int, int]] = []  # (marker, start position, byte offset)
    i = 0
    line_start = True
    quote_start: int | None = None
    while i < len(src):
        char = src[i]
        offset = len(src[:i].encode("utf-8"))
        if line_start and char == ">":
            if quote_start is None:
                quote_start = out.pos
            i += 1
            line_start = False
            continue
        if line_start and quote_start is not None:
            out.pos -= 1  # the newline that ended the quote is not part of it
            out.entity("blockquote", quote_start)
            out.pos += 1
            quote_start = None
        line_start = False
        if char == "\\":
            if i + 1 < len(src) and 0 < ord(src[i + 1]) < 127:
                out.add(src[i + 1])
                i += 2
                continue
            raise entities_error(_reserved(char))
        if char == "`":
            i = _mdv2_code(src, i, out)
            continue
        two = src[i : i + 2]
        marker = two if two in ("__", "||") else char
        if marker in _MDV2_MARKERS:
            if stack and stack[-1][0] == marker:
                _, start, _ = stack.pop()
                out.entity(_MDV2_MARKERS[marker], start)
            elif any(m == marker for m, _, _ in stack):
                raise entities_error(
                    f"Can't find end of {_MDV2_MARKERS[stack[-1][0]].title()} entity at byte "
                    f"offset {stack[-1][2]}"
                )
            else:
                stack.append((marker, out.pos, offset))
            i += len(marker)
            continue
        if char == "[":
            stack.append(("[", out.pos, offset))
            i += 1
            continue
        if char == "]" and stack and stack[-1][0] == "[":
            _, start, link_offset = stack.pop()
            if not src.startswith("(", i + 1):
                raise entities_error(_reserved("]"))
            url, i = _mdv2_url(src, i + 2, link_offset)
            out.entity("text_link", start, url=url)
            continue
        if char in _MDV2_RESERVED:
            raise entities_error(_reserved(char))
        out.add(char)
        line_start = char == "\n"
        i += 1
    if quote_start is not None:
        out.entity("blockquote", quote_start)
    if stack:
        marker, _, offset = stack[-1]
        name = "TextUrl" if marker == "[" else _MDV2_MARKERS[marker].title()
        raise entities_error(f"Can't find end of {name} entity at byte offset {offset}")
    return out.result()


def _reserved(char: str) -> str:
    return f"Character '{char}' is reserved and must be escaped with the preceding '\\'"


def _mdv2_code(src: str, i: int, out: _Builder) -> int:
    offset = len(src[:i].encode("utf-8"))
    is_pre = src.startswith("```", i)
    j = i + (3 if is_pre else 1)
    language = ""
    if is_pre:
        newline = src.find("\n", j)
        head = src[j:newline] if newline != -1 else ""
        if newline != -1 and head and "`" not in head and " " not in head.strip():
            language = head.strip()
            j = newline + 1
    start = out.pos
    text: list[str] = []
    closer = "```" if is_pre else "`"
    while j < len(src):
        if src[j] == "\\" and j + 1 < len(src):
            text.append(src[j + 1])
            j += 2
            continue
        if src.startswith(closer, j):
            out.add("".join(text))
            extra = {"language": language} if language else {}
            out.entity("pre" if is_pre else "code", start, **extra)
            return j + len(closer)
        text.append(src[j])
        j += 1
    kind = "Pre" if is_pre else "Code"
    raise entities_error(f"Can't find end of {kind} entity at byte offset {offset}")


def _mdv2_url(src: str, j: int, offset: int) -> tuple[str, int]:
    url: list[str] = []
    while j < len(src):
        if src[j] == "\\" and j + 1 < len(src):
            url.append(src[j + 1])
            j += 2
            continue
        if src[j] == ")":
            return "".join(url), j + 1
        url.append(src[j])
        j += 1
    raise entities_error(f"Can't find end of a URL at byte offset {offset}")


# -- legacy Markdown ----------------------------------------------------------------------------

_MD_MARKERS = {"*": "bold", "_": "italic"}


def parse_markdown(src: str) -> tuple[str, list[Entity]]:
    """Parse legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    out = _Builder()
    i = 0
    while i < len(src):
        char = src[i]
        offset = len(src[:i].encode("utf-8"))
        if char == "\\" and i + 1 < len(src) and src[i + 1] in "_*`[":
            out.add(src[i + 1])
            i += 2
            continue
        if char in _MD_MARKERS or char == "`":
            closer = "```" if src.startswith("```", i) else char
            end = src.find(closer, i + len(closer))
            if end == -1:
                raise entities_error(
                    f"Can't find end of the entity starting at byte offset {offset}"
                )
            inner = src[i + len(closer) : end]
            start = out.pos
            if closer == "```":
                language, _, body = inner.partition("\n") if "\n" in inner else ("", "", inner)
                out.add(body)
                out.entity("pre", start, **({"language": language} if language else {}))
            else:
                out.add(inner)
                out.entity(_MD_MARKERS.get(char, "code"), start)
            i = end + len(closer)
            continue
        if char == "[":
            close = src.find("]", i)
            if close != -1 and src.startswith("(", close + 1) and src.find(")", close) != -1:
                url_end = src.find(")", close)
                start = out.pos
                out.add(src[i + 1 : close])
                out.entity("text_link", start, url=src[close + 2 : url_end])
                i = url_end + 1
                continue
            raise entities_error(f"Can't find end of the entity starting at byte offset {offset}")
        out.add(char)
        i += 1
    return out.result()

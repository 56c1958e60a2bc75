"""The Bot API specification (spec/api.json): method lookup, parameter decoding, validation."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sandbox.errors import ApiError, bad_request

SPEC_PATH = Path(__file__).with_name("spec") / "api.json"

MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_TEXT = 200

_SCALARS = frozenset({"Integer", "Float", "Boolean", "String", "True", "InputFile"})
_INT_RE = re.compile(r"-?\d+")
# Button fields that are decoration, not the button's action (InlineKeyboardButton).
_BUTTON_DECORATION = frozenset({"text", "icon_custom_emoji_id", "style"})


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One parameter of a method or one field of an object type."""

    name: str
    types: tuple[str, ...]
    required: bool

    @property
    def is_plain_string(self) -> bool:
        """True when a form value must be kept verbatim (PTB never JSON-encodes strings)."""
        return all(t in ("String", "InputFile") for t in self.types)

    @property
    def accepts_file(self) -> bool:
        """True when the field can be a multipart upload."""
        return "InputFile" in self.types


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """One Bot API method."""

    name: str
    fields: Mapping[str, FieldSpec]
    returns: tuple[str, ...]


def _fields(raw: Any) -> dict[str, FieldSpec]:
    return {
        f["name"]: FieldSpec(f["name"], tuple(f["types"]), bool(f["required"]))
        for f in raw.get("fields", [])
    }


class ApiSpec:
    """Lookup and validation over the JSON Bot API description."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.version: str = str(data.get("version", "unknown"))
        self._methods: dict[str, MethodSpec] = {}
        for name, raw in data["methods"].items():
            spec = MethodSpec(name, _fields(raw), tuple(raw.get("returns", [])))
            self._methods[name.lower()] = spec
        self._types: dict[str, dict[str, FieldSpec]] = {}
        self._subtypes: dict[str, tuple[str, ...]] = {}
        for name, raw in data["types"].items():
            self._types[name] = _fields(raw)
            if raw.get("subtypes"):
                self._subtypes[name] = tuple(raw["subtypes"])

    @classmethod
    def load(cls, path: Path = SPEC_PATH) -> ApiSpec:
        """Read a spec file."""
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def method(self, name: str) -> MethodSpec | None:
        """The method called `name`, case-insensitively as Telegram does, or None."""
        return self._methods.get(name.lower())

    def type_fields(self, type_name: str) -> Mapping[str, FieldSpec]:
        """The fields of an object type (empty for unknown or abstract types)."""
        return self._types.get(type_name, {})

    # -- decoding ---------------------------------------------------------------------------

    def decode(self, method: MethodSpec, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Turn request values into JSON values, following each field's declared types.

        Form and multipart bodies carry strings: PTB JSON-encodes every non-string value
        (numbers, booleans, objects) and sends strings verbatim, so a value is JSON-decoded
        unless its field only accepts strings. JSON bodies are already typed; a string given for
        an object field is decoded too, as Telegram does.
        """
        params: dict[str, Any] = {}
        for name, value in raw.items():
            field = method.fields.get(name)
            params[name] = _decode_value(name, value, field)
        return params

    # -- validation -------------------------------------------------------------------------

    def validate(self, method: MethodSpec, params: Mapping[str, Any]) -> None:
        """Check required fields, value types and the limits Telegram enforces on any call."""
        for field in method.fields.values():
            value = params.get(field.name)
            if value is None or (isinstance(value, str) and value == "" and field.required):
                if field.required:
                    raise _missing(method.name, field.name)
                continue
            self._check(value, field.types, field.name)
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            check_inline_keyboard(markup)
        if method.name == "answerCallbackQuery":
            text = params.get("text")
            if isinstance(text, str) and len(text) > MAX_CALLBACK_ANSWER_TEXT:
                raise bad_request("MESSAGE_TOO_LONG")

    def _check(self, value: Any, types: tuple[str, ...], path: str) -> None:
        """Raise ApiError unless `value` matches one of `types` (objects: required fields)."""
        expanded = self._expand(types)
        errors: list[tuple[int, ApiError]] = []
        for type_name in expanded:
            error = self._check_one(value, type_name, path)
            if error is None:
                return
            score = 0
            if isinstance(value, dict) and type_name in self._types:
                score = sum(
                    1 for f in self._types[type_name].values() if f.required and f.name in value
                )
            errors.append((score, error))
        errors.sort(key=lambda item: -item[0])
        raise errors[0][1]

    def _expand(self, types: tuple[str, ...]) -> tuple[str, ...]:
        out: list[str] = []
        for type_name in types:
            if type_name in self._subtypes:
                out.extend(self._expand(self._subtypes[type_name]))
            else:
                out.append(type_name)
        return tuple(out)

    def _check_one(self, value: Any, type_name: str, path: str) -> ApiError | None:
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                return bad_request(f'field "{path}" must be an Array')
            inner = type_name.removeprefix("Array of ")
            for index, item in enumerate(value):
                try:
                    self._check(item, (inner,), f"{path}[{index}]")
                except ApiError as exc:
                    return exc
            return None
        if type_name in _SCALARS:
            return None if _scalar_ok(value, type_name) else _wrong_type(path, type_name)
        fields = self._types.get(type_name)
        if fields is None:
            return None  # a type this spec does not describe: be lenient
        if type_name == "KeyboardButton" and isinstance(value, str):
            return None  # Telegram accepts a bare string for a text-only reply button
        if not isinstance(value, dict):
            return bad_request(f"can't parse {path} JSON object")
        for field in fields.values():
            sub = value.get(field.name)
            if sub is None:
                if field.required:
                    return bad_request(f'can\'t parse {path}: field "{field.name}" is required')
                continue
            try:
                self._check(sub, field.types, f"{path}.{field.name}")
            except ApiError as exc:
                return exc
        return None


def _scalar_ok(value: Any, type_name: str) -> bool:
    if type_name == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name == "Boolean":
        return isinstance(value, bool)
    if type_name == "True":
        return value is True
    if type_name == "InputFile":
        return not isinstance(value, dict | list | bool)
    # String: Telegram coerces numbers to strings.
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _wrong_type(path: str, type_name: str) -> ApiError:
    return bad_request(f'field "{path}" must be of type {type_name}')


def _missing(method: str, field: str) -> ApiError:
    if field == "text":
        return bad_request("message text is empty")
    return bad_request(f"{field} is required")


def _decode_value(name: str, value: Any, field: FieldSpec | None) -> Any:
    if not isinstance(value, str):
        return value
    if field is None:
        # Unknown parameter: decode obvious JSON containers, keep the rest as sent.
        if value[:1] in ("{", "["):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value
    if field.is_plain_string:
        return value
    if set(field.types) == {"Integer", "String"}:
        return int(value) if _INT_RE.fullmatch(value) else value
    if field.types == ("Integer",):
        if _INT_RE.fullmatch(value.strip()):
            return int(value)
        raise _wrong_type(name, "Integer")
    if field.types == ("Float",):
        try:
            return float(value)
        except ValueError:
            raise _wrong_type(name, "Float") from None
    if field.types in (("Boolean",), ("True",)):
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0", ""):
            return False
        raise _wrong_type(name, "Boolean")
    try:
        return json.loads(value)
    except ValueError:
        if "String" in field.types:
            return value
        raise bad_request(f"can't parse {name} JSON object") from None


def check_inline_keyboard(markup: Mapping[str, Any]) -> None:
    """Telegram's checks on an inline keyboard: callback data 1-64 bytes, one action a button."""
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list):
        raise bad_request('can\'t parse inline keyboard: field "inline_keyboard" must be an Array')
    for row in rows:
        if not isinstance(row, list):
            raise bad_request("can't parse inline keyboard: a row must be an Array")
        for button in row:
            if not isinstance(button, dict):
                raise bad_request("can't parse inline keyboard button: not an object")
            if not str(button.get("text", "")):
                raise bad_request("can't parse inline keyboard button: button text is empty")
            if "callback_data" in button:
                data = button["callback_data"]
                size = len(str(data).encode("utf-8")) if data is not None else 0
                if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
            actions = [k for k in button if k not in _BUTTON_DECORATION]
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the "
                    "inline keyboard"
                )


@cache
def default_spec() -> ApiSpec:
    """The bundled spec, loaded once."""
    return ApiSpec.load()


__all__ = [
    "MAX_CALLBACK_ANSWER_TEXT",
    "MAX_CALLBACK_DATA_BYTES",
    "SPEC_PATH",
    "ApiSpec",
    "FieldSpec",
    "MethodSpec",
    "check_inline_keyboard",
    "default_spec",
]

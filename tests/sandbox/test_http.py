"""The sandbox's HTTP surface, driven with a plain httpx client."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from sandbox import CallbackAnswer, SandboxServer


def keyboard(*data: str) -> str:
    rows = [[{"text": f"b{i}", "callback_data": d}] for i, d in enumerate(data)]
    return json.dumps({"inline_keyboard": rows})


async def test_get_me_envelope(server: SandboxServer, http: httpx.AsyncClient) -> None:
    response = await http.post("/getMe")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    me = body["result"]
    assert me["id"] == 123456
    assert me["is_bot"] is True
    assert me["username"] == "petitesmains_bot"
    assert me["can_join_groups"] is True
    assert server.calls[-1] == ("getMe", {})


async def test_wrong_token_is_401(server: SandboxServer) -> None:
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.post(f"{server.url}/bot999:wrong/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert server.invalid_calls[-1].error_code == 401


async def test_unknown_method_is_404(server: SandboxServer, http: httpx.AsyncClient) -> None:
    response = await http.post("/sendTelepathy", data={"chat_id": "1"})
    assert response.status_code == 404
    assert response.json()["description"] == "Not Found"
    assert [c.method for c in server.invalid_calls] == ["sendTelepathy"]


async def test_method_names_are_case_insensitive(
    server: SandboxServer, http: httpx.AsyncClient
) -> None:
    response = await http.post("/GETME")
    assert response.json()["ok"] is True
    assert server.calls[-1].method == "getMe"


async def test_missing_required_field_is_recorded(
    server: SandboxServer, http: httpx.AsyncClient
) -> None:
    server.user(1001, "Ana")
    response = await http.post("/sendMessage", data={"chat_id": "1001"})
    assert response.status_code == 400
    body = response.json()
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message text is empty",
    }
    assert len(server.invalid_calls) == 1
    invalid = server.invalid_calls[0]
    assert invalid.method == "sendMessage"
    assert invalid.params == {"chat_id": 1001}
    assert invalid.description == "Bad Request: message text is empty"

    response = await http.post("/sendMessage", data={"text": "hi"})
    assert response.json()["description"] == "Bad Request: chat_id is required"


async def test_form_and_json_bodies_decode_alike(
    server: SandboxServer, http: httpx.AsyncClient
) -> None:
    server.user(1001, "Ana")
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    form = await http.post(
        "/sendMessage",
        data={"chat_id": "1001", "text": "42", "reply_markup": json.dumps(markup)},
    )
    as_json = await http.post(
        "/sendMessage", json={"chat_id": 1001, "text": "42", "reply_markup": markup}
    )
    first, second = form.json()["result"], as_json.json()["result"]
    assert first["text"] == second["text"] == "42"  # a string field stays a string
    assert first["reply_markup"] == second["reply_markup"] == markup
    assert second["message_id"] == first["message_id"] + 1
    assert first["chat"] == {"id": 1001, "type": "private", "first_name": "Ana"}
    assert first["from"]["is_bot"] is True
    assert isinstance(first["date"], int)
    assert server.calls_to("sendMessage")[0]["chat_id"] == 1001


async def test_callback_data_over_64_bytes(server: SandboxServer, http: httpx.AsyncClient) -> None:
    server.user(1001, "Ana")
    ok = await http.post(
        "/sendMessage", data={"chat_id": "1001", "text": "t", "reply_markup": keyboard("x" * 64)}
    )
    assert ok.status_code == 200
    too_long = await http.post(
        "/sendMessage", data={"chat_id": "1001", "text": "t", "reply_markup": keyboard("é" * 33)}
    )
    assert too_long.status_code == 400
    assert too_long.json()["description"] == "Bad Request: BUTTON_DATA_INVALID"
    empty = await http.post(
        "/sendMessage", data={"chat_id": "1001", "text": "t", "reply_markup": keyboard("")}
    )
    assert empty.json()["description"] == "Bad Request: BUTTON_DATA_INVALID"
    assert len(server.invalid_calls) == 2


async def test_length_limits(server: SandboxServer, http: httpx.AsyncClient) -> None:
    server.user(1001, "Ana")
    ok = await http.post("/sendMessage", data={"chat_id": "1001", "text": "a" * 4096})
    assert ok.status_code == 200
    long = await http.post("/sendMessage", data={"chat_id": "1001", "text": "a" * 4097})
    assert long.json()["description"] == "Bad Request: message is too long"
    # The limit applies after entity parsing: markup does not count.
    html = await http.post(
        "/sendMessage",
        data={"chat_id": "1001", "text": "<b>" + "a" * 4096 + "</b>", "parse_mode": "HTML"},
    )
    assert html.status_code == 200
    caption = await http.post(
        "/sendDocument",
        files={"document": ("a.txt", b"data", "text/plain")},
        data={"chat_id": "1001", "caption": "c" * 1025},
    )
    assert caption.json()["description"] == "Bad Request: message caption is too long"
    answer = await http.post(
        "/answerCallbackQuery", data={"callback_query_id": "1", "text": "x" * 201}
    )
    assert answer.json()["description"] == "Bad Request: MESSAGE_TOO_LONG"
    assert [c.method for c in server.invalid_calls] == [
        "sendMessage",
        "sendDocument",
        "answerCallbackQuery",
    ]


async def test_unknown_chat_and_bad_types(server: SandboxServer, http: httpx.AsyncClient) -> None:
    response = await http.post("/sendMessage", data={"chat_id": "777", "text": "hi"})
    assert response.json()["description"] == "Bad Request: chat not found"
    response = await http.post("/deleteMessage", data={"chat_id": "777", "message_id": "x"})
    assert response.status_code == 400
    assert "Integer" in response.json()["description"]


async def test_unknown_fields_are_ignored(server: SandboxServer, http: httpx.AsyncClient) -> None:
    server.user(1001, "Ana")
    response = await http.post(
        "/sendMessage", data={"chat_id": "1001", "text": "hi", "frobnicate": '{"a": 1}'}
    )
    assert response.status_code == 200
    assert server.invalid_calls == []


async def test_multipart_upload_and_download(
    server: SandboxServer, http: httpx.AsyncClient
) -> None:
    server.user(1001, "Ana")
    response = await http.post(
        "/sendDocument",
        files={"document": ("batch.zip", b"PK\x03\x04zip", "application/zip")},
        data={"chat_id": "1001", "caption": "the batch"},
    )
    message = response.json()["result"]
    document = message["document"]
    assert document["file_name"] == "batch.zip"
    assert document["mime_type"] == "application/zip"
    assert document["file_size"] == 7
    assert message["caption"] == "the batch"
    file = (await http.post("/getFile", data={"file_id": document["file_id"]})).json()["result"]
    async with httpx.AsyncClient(trust_env=False) as client:
        download = await client.get(f"{server.url}/file/bot{server.token}/{file['file_path']}")
        missing = await client.get(f"{server.url}/file/bot{server.token}/documents/nope")
        wrong_token = await client.get(f"{server.url}/file/bot1:x/{file['file_path']}")
    assert download.content == b"PK\x03\x04zip"
    assert missing.status_code == 404
    assert wrong_token.status_code == 404
    assert server.upload_count(document["file_unique_id"]) == 1


async def test_unimplemented_method_is_refused_loudly(
    server: SandboxServer, http: httpx.AsyncClient
) -> None:
    response = await http.post("/sendDice", data={"chat_id": "1"})
    assert response.status_code == 400
    assert "not implemented by the sandbox" in response.json()["description"]
    assert len(server.invalid_calls) == 1


async def test_reply_keyboard_and_chat_actions(
    server: SandboxServer, http: httpx.AsyncClient
) -> None:
    user = server.user(1001, "Ana")
    markup = {"keyboard": [["Yes", {"text": "No"}]], "one_time_keyboard": True}
    response = await http.post(
        "/sendMessage", json={"chat_id": 1001, "text": "Sure?", "reply_markup": markup}
    )
    assert "reply_markup" not in response.json()["result"]  # only inline keyboards are echoed
    event = await user.next_message()
    assert event.buttons == [["Yes", "No"]]
    assert user.reply_keyboard == markup
    await user.send_text("Yes")
    assert user.reply_keyboard is None

    bad = await http.post("/sendChatAction", data={"chat_id": "1001", "action": "dancing"})
    assert bad.json()["description"] == "Bad Request: wrong parameter action in request"
    good = await http.post("/sendChatAction", data={"chat_id": "1001", "action": "typing"})
    assert good.json() == {"ok": True, "result": True}
    assert user.chat_actions == ["typing"]


async def test_press_helpers(server: SandboxServer, http: httpx.AsyncClient) -> None:
    user = server.user(1001, "Ana")
    markup = {
        "inline_keyboard": [
            [{"text": "Task 1", "callback_data": "t1"}, {"text": "Task 2", "callback_data": "t2"}],
            [{"text": "Docs", "url": "https://example.org"}],
        ]
    }
    await http.post("/sendMessage", json={"chat_id": 1001, "text": "pick", "reply_markup": markup})
    event = await user.next_message()
    assert event.button_data("Task 2") == "t2"
    with pytest.raises(LookupError, match="ambiguous"):
        await user.press("Task")
    with pytest.raises(LookupError, match="no callback data"):
        await user.press("Docs")

    async def answer_next() -> None:
        # A minimal bot: long-poll one update and answer its callback query.
        response = await http.post("/getUpdates", json={"timeout": 20})
        (update,) = response.json()["result"]
        await http.post(
            "/answerCallbackQuery",
            data={
                "callback_query_id": update["callback_query"]["id"],
                "text": "Taken",
                "show_alert": "true",
            },
        )

    answering = asyncio.create_task(answer_next())
    answer = await user.press("Task 1")
    await answering
    assert answer == CallbackAnswer(text="Taken", show_alert=True)
    update = server.pending_updates[-1]["callback_query"]
    assert update["data"] == "t1"
    assert update["message"]["message_id"] == event.message_id
    assert update["from"]["id"] == 1001
    assert isinstance(update["id"], str)
    assert isinstance(update["chat_instance"], str)
    again = await http.post(
        "/answerCallbackQuery", data={"callback_query_id": update["id"], "text": "twice"}
    )
    assert "query is too old" in again.json()["description"]

    await http.post("/sendMessage", json={"chat_id": 1001, "text": "surprise"})
    with pytest.raises(AssertionError, match="surprise"):
        await user.expect_no_message(within=1.0)
    server.invalid_calls.clear()

"""``/template`` round trip: the example ZIP, sent back unchanged, makes a valid draft."""

from __future__ import annotations

import io
import zipfile

from bot.app import BotApplication
from sandbox import SandboxServer
from tests.conftest import REQUESTER_ID


async def test_the_template_sent_back_unchanged_makes_a_draft(
    sandbox: SandboxServer, bot: BotApplication
) -> None:
    rita = sandbox.user(REQUESTER_ID, first_name="Rita", language_code="en")
    await rita.send_command("/template")
    template = await rita.next_message()
    assert template.kind == "document"
    assert template.file_name == "petites-mains-template.zip"
    assert template.text is not None
    assert "batch.toml" in template.text
    assert template.file_bytes is not None
    with zipfile.ZipFile(io.BytesIO(template.file_bytes)) as archive:
        manifest = archive.read("batch.toml").decode("utf-8")
    assert manifest.startswith("# batch.toml")
    assert "time_limit = 30" in manifest

    await rita.send_document(
        template.file_bytes, file_name=template.file_name, mime_type="application/zip"
    )
    assert ((await rita.next_message()).text or "").startswith("Checking")
    summary = (await rita.next_message(timeout=30)).text or ""
    assert summary.startswith("Draft batch #1: Colour swatches"), summary
    assert "Items: 4 (of which 2 gold)" in summary
    assert rita.last_message is not None
    assert rita.last_message.buttons[1] == ["Discard"]


async def test_a_worker_gets_no_template(sandbox: SandboxServer, bot: BotApplication) -> None:
    walt = sandbox.user(4242, first_name="Walt", language_code="en")
    await walt.send_command("/template")
    assert (await walt.next_message()).kind == "text"
    assert sandbox.calls_to("sendDocument") == []

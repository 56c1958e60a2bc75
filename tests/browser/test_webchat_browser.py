"""The try-it web chat in a real browser (Debian's Chromium driven by Playwright).

Skipped only when /usr/bin/chromium is missing outside CI (``make test`` installs it as root);
in CI (the CI variable set) a missing browser fails the test.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import TryIt
from bot.demo import ALICE, REQUESTER
from bot.tryit import TryItRun, running

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 15_000

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip(
        "Debian's Chromium (/usr/bin/chromium) is not installed; as root: apt-get install chromium "
        "(make test does it); in CI this test never skips",
        allow_module_level=True,
    )

from playwright.async_api import Page, async_playwright, expect  # noqa: E402


@pytest.fixture
async def tryit(tmp_path: Path) -> AsyncIterator[TryItRun]:
    environ = {"DATA_DIR": str(tmp_path / "data"), "LOG_LEVEL": "WARNING"}
    async with running(environ, TryIt(port=0, data_dir=tmp_path / "data" / "tryit")) as run:
        yield run


@pytest.fixture
async def page(tryit: TryItRun) -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            context = await browser.new_context(viewport={"width": 1100, "height": 800})
            page = await context.new_page()
            page.set_default_timeout(WAIT_MS)
            await page.goto(tryit.url)
            yield page
        finally:
            await browser.close()


async def test_alice_answers_a_photo_task_and_the_requester_sees_her_menu(
    page: Page, tryit: TryItRun
) -> None:
    await page.locator(f".user[data-user-id='{ALICE.id}']").click()
    await expect(page.locator("#chat-name")).to_have_text("Alice")

    await page.locator("#text").fill("/start")
    await page.locator("#send").click()
    await expect(page.locator(".msg.user .text", has_text="/start")).to_be_visible()
    await expect(page.locator(".msg.bot .text", has_text="Welcome back, Alice")).to_be_visible()

    # The bot pushed Alice a photo task: its labels are inline buttons; one tap answers it.
    task = page.locator(".msg.bot.photo").first
    await expect(task.locator("img")).to_be_visible()
    assert await task.locator("img").evaluate("img => img.naturalWidth") > 0
    task_id = await task.get_attribute("data-id")
    before = await task.locator(".text").inner_text()
    await task.locator(".inline-btn", has_text="square").click()
    toast = page.locator("#toast")
    await expect(toast).to_be_visible()
    await expect(toast).to_contain_text(re.compile(r"\S"))
    # The same message is edited in place (the answer credited, the next shape in it).
    answered = page.locator(f".msg.bot[data-id='{task_id}']")
    await expect(answered.locator(".meta")).to_contain_text("edited")
    await expect(answered.locator(".text")).not_to_have_text(before)
    await expect(page.locator(f".msg.bot[data-id='{task_id}']")).to_have_count(1)

    # The requester's chat has the requester's command menu (setMyCommands for that chat).
    await page.locator(f".user[data-user-id='{REQUESTER.id}']").click()
    await expect(page.locator("#chat-name")).to_have_text(REQUESTER.first_name)
    await page.locator("#menu-button").click()
    menu = page.locator("#command-menu")
    await expect(menu).to_be_visible()
    await expect(menu.locator(".command", has_text="/newbatch")).to_be_visible()
    await expect(menu.locator(".command", has_text="/balance")).to_be_visible()
    await menu.locator(".command", has_text="/balance").click()
    await expect(page.locator(".msg.user .text", has_text="/balance")).to_be_visible()
    await expect(page.locator(".msg.bot")).to_have_count(1)
    assert tryit.server.invalid_calls == []


async def test_the_page_fits_a_phone(page: Page, tryit: TryItRun) -> None:
    await page.set_viewport_size({"width": 390, "height": 780})
    await page.goto(tryit.url)  # no #user-ID: a phone starts on the user list
    await page.reload()
    await expect(page.locator("#users .user")).to_have_count(4)
    await page.locator(f".user[data-user-id='{ALICE.id}']").click()
    await expect(page.locator("#users")).to_be_hidden()
    await expect(page.locator("#composer")).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    await page.locator("#back").click()
    await expect(page.locator("#users")).to_be_visible()

"""The resident portal in a real browser (Debian's chromium, Playwright) against the real path.

A real ``rps worker``, a real subscriber for Wirral (``rps subscribe``), the
read model (``rps readmodel``) and the portal (``rps portal``) run as
processes on the test's own topics. The resident signs in (development
sign-in), sees their details, shares them with Wirral after a preview, sees
the backfilled delivery acknowledged, stops sharing, and signs out (a copy of
the cookie taken before sign-out then opens nothing). Every page is checked
for accessibility basics (axe-core's WCAG 2 A/AA rules, one ``h1``, a label for
every input) and screenshotted into ``artifacts/portal/``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

import infra
from cli.spawn import environment, start_worker, stop_worker
from producers import Publisher
from producers import events as build
from rps.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "portal"
README_SHOT = ROOT / "docs" / "img" / "portal-your-details.png"
AXE = ROOT / "portal" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
WIRRAL, LIVERPOOL, APP = "E08000015", "urn:gss:E08000012", "urn:org:resident-app"
EMAIL = "m.whitfield.planted@example.org"
WAIT = 120.0  # seconds a loaded machine may take to carry a change through every process


def _exists(path: Path) -> bool:
    return path.is_file()


def _logs(folder: Path) -> str:
    """Everything the test's processes logged."""
    return "".join(p.read_text() for p in sorted(folder.glob("*.log")))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Processes:
    """The test's ``rps`` processes; stopped afterwards, their logs kept for failures."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.settings = settings
        self.logs = logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str, **env: str) -> None:
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            self.running[name] = subprocess.Popen(
                [sys.executable, "-m", "cli", *args],
                env=environment(self.settings, **env),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def check(self) -> None:
        for name, process in self.running.items():
            if process.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text()[-3000:]
                raise AssertionError(f"{name} exited with {process.returncode}:\n{tail}")

    def stop_all(self) -> None:
        for process in self.running.values():
            stop_worker(process)


@pytest.fixture
def portal_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={"state_dir": tmp_path / "state", "expiry_tick_seconds": 0.5, "partitions": 4}
    )


@pytest.fixture
def processes(portal_settings: Settings, tmp_path: Path) -> Iterator[Processes]:
    running = Processes(portal_settings, tmp_path)
    worker = start_worker(portal_settings, tmp_path / "worker.log", RPS_WORKER_NAME="w0")
    try:
        yield running
    finally:
        running.stop_all()
        stop_worker(worker)


async def _until(
    what: str, check: Callable[[], Awaitable[bool]], processes: Processes, wait: float = WAIT
) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` when it never does."""
    deadline = time.monotonic() + wait
    while not await check():
        processes.check()
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(1.0)


async def _accessible(page: Page, name: str) -> None:
    """Accessibility basics on the page as shown, then a screenshot into the artifacts."""
    await page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = await page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21aa", "best-practice"]}
        })"""
    )
    violations = [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]
    assert violations == [], f"{name}: {violations}"
    checked = {r["id"] for r in result["passes"]} | {r["id"] for r in result["inapplicable"]}
    assert {"color-contrast", "label", "page-has-heading-one", "heading-order"} <= checked
    assert await page.locator("h1").count() == 1, f"{name}: not exactly one h1"
    unlabelled = await page.evaluate(
        """() => [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
            .filter(i => !(i.labels && i.labels.length)).map(i => i.id || i.name)"""
    )
    assert unlabelled == [], f"{name}: inputs without a label: {unlabelled}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert _exists(CHROMIUM), "Debian's chromium is missing: run `make setup`"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            await launched.close()


async def _story(settings: Settings, resident: str) -> None:
    """Wirral subscribes to address (medium) and email (low); the resident has both."""
    now = dt.datetime.now(dt.UTC)
    async with Publisher(settings, source=f"urn:gss:{WIRRAL}") as wirral:
        for attribute, level in (("address", "medium"), ("email", "low")):
            await wirral.publish(
                build.subscription_changed(
                    source=f"urn:gss:{WIRRAL}",
                    authority=WIRRAL,
                    attribute=attribute,
                    minimum_assurance=level,
                    active=True,
                    now=now,
                )
            )
    address = {
        "uprn": "38012345",
        "lines": ["1 Planted Street"],
        "town": "Liverpool",
        "postcode": "L2 2DH",
        "local_authority": "E08000012",
    }
    async with Publisher(settings, source=LIVERPOOL) as liverpool:
        await liverpool.publish_attribute(
            resident, "address", address, "medium", "council_tax_record", verified_at=now
        )
    async with Publisher(settings, source=APP) as app:
        await app.publish_attribute(
            resident, "email", EMAIL, "low", "self_asserted", verified_at=now
        )


async def test_a_resident_signs_in_shares_sees_it_acknowledged_and_stops_sharing(
    portal_settings: Settings, processes: Processes, browser: Browser, tmp_path: Path
) -> None:
    """Sign in, grant Wirral, see the backfill acknowledged, withdraw, sign out: all accessible."""
    resident, other = str(uuid.uuid4()), str(uuid.uuid4())
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    wirral_db = f"sqlite+aiosqlite:///{tmp_path / 'wirral.db'}"
    await infra.ensure_delivery_topic(portal_settings, WIRRAL)
    processes.start("readmodel", "readmodel")
    processes.start("subscriber", "subscribe", WIRRAL, "--db", wirral_db)
    processes.start("portal", "portal", RPS_PORTAL_PORT=str(port))
    await _story(portal_settings, resident)

    async def portal_up() -> bool:
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{base}/sign-in")).status_code == 200
        except httpx.HTTPError:
            return False

    await _until("the portal answers", portal_up, processes, wait=60)
    context = await browser.new_context(bypass_csp=True, viewport={"width": 1100, "height": 900})
    page = await context.new_page()

    await page.goto(f"{base}/sign-in")
    assert await page.get_by_text("Development sign-in").first.is_visible()
    await _accessible(page, "01-sign-in")
    await page.get_by_label("Resident id").fill(resident)
    await page.get_by_role("button", name="Sign in (development)").click()
    await page.wait_for_url(f"**/residents/{resident}/your-details")
    cookie = next(c for c in await context.cookies() if c["name"] == "rps_portal_session")
    assert cookie["httpOnly"]
    assert cookie["secure"]
    assert cookie["sameSite"] == "Lax"

    async def details_shown() -> bool:
        await page.reload()
        return await page.locator("tr[data-attribute]").count() == 2

    await _until("the resident's address and email are shown", details_shown, processes)
    assert await page.get_by_text(EMAIL).is_visible()
    assert await page.get_by_text("1 Planted Street").is_visible()
    await _accessible(page, "02-your-details")
    if os.environ.get("RPS_UPDATE_SCREENSHOTS"):  # refresh the README's picture on request
        shutil.copyfile(ARTIFACTS / "02-your-details.png", README_SHOT)

    refused = await page.goto(f"{base}/residents/{other}/your-details")
    assert refused is not None
    assert refused.status == 403
    assert await page.get_by_role("heading", name="You cannot do this").is_visible()

    async def wirral_offered() -> bool:
        await page.goto(f"{base}/residents/{resident}/share")
        return await page.get_by_label("Wirral Council").count() == 1

    await _until("Wirral is offered", wirral_offered, processes)
    await _accessible(page, "03-share")
    await page.get_by_label("Wirral Council").check()
    await page.get_by_label("Address", exact=True).check()
    await page.get_by_label("Email address", exact=True).check()
    await page.get_by_label("Council Tax").check()
    await page.get_by_label("Your reference with them").fill("WIR-CT-200412")
    await page.get_by_role("button", name="Continue").click()
    await page.wait_for_url("**/share/preview")
    assert await page.locator('[data-attribute="email"][data-sent="yes"]').count() == 1
    assert await page.locator('[data-attribute="address"][data-sent="yes"]').count() == 1
    await _accessible(page, "04-share-preview")
    await page.get_by_role("button", name="Confirm and share").click()
    assert await page.get_by_role(
        "heading", name="You are now sharing with Wirral Council"
    ).is_visible()
    await _accessible(page, "05-shared")

    who = f"{base}/residents/{resident}/who-has-your-details"
    card = page.locator(f'[data-authority="{WIRRAL}"]')

    async def acknowledged() -> bool:
        await page.goto(who)
        confirmed = card.locator('tr[data-outcome="sent"] [data-confirmed="yes"]')
        return await confirmed.count() == 2

    await _until("Wirral's acknowledgement of both deliveries", acknowledged, processes)
    await _accessible(page, "06-who-has-your-details")

    await card.get_by_role("link", name="Stop sharing").click()
    await page.wait_for_url("**/stop-sharing?authority=*")
    await _accessible(page, "07-stop-sharing")
    await page.get_by_role("button", name="Yes, stop sharing").click()
    assert await page.get_by_role(
        "heading", name="You have stopped sharing with Wirral Council"
    ).is_visible()

    async def stopped() -> bool:
        await page.goto(who)
        told = await card.locator('tr[data-outcome="told_to_stop"]').count()
        status = await card.locator("[data-status]").get_attribute("data-status")
        return told > 0 and status == "withdrawn"

    await _until("the withdrawal shows on Who has your details", stopped, processes)
    assert await card.get_by_role("link", name="Stop sharing").count() == 0
    await _accessible(page, "08-stopped")

    await page.goto(f"{base}/residents/{resident}/update")
    await _accessible(page, "09-update")
    await page.get_by_label("Phone number", exact=True).check()
    await page.get_by_label("Your new UK phone number").fill("not a phone")
    await page.get_by_role("button", name="Send it once").click()
    assert await page.get_by_text("There is a problem").is_visible()
    await _accessible(page, "10-update-error")

    copied = await context.cookies()  # someone takes a copy of the cookie before sign-out
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/sign-in")
    await context.close()
    replay = await browser.new_context(bypass_csp=True)
    await replay.add_cookies(copied)  # type: ignore[arg-type]
    replayed = await replay.new_page()
    await replayed.goto(f"{base}/residents/{resident}/your-details")
    assert replayed.url == f"{base}/sign-in"  # the session ended server-side
    await replay.close()

    logs = _logs(tmp_path)
    for planted in (EMAIL, "1 Planted Street", "L2 2DH", "WIR-CT-200412"):
        assert planted not in logs

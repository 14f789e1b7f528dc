"""The five deployables started as processes, as in production, inside this run's namespace."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from mpp_shared.local import postgres_port

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("catalog", "applications", "documents", "notifications")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Platform:
    """The running deployables and how to reach them."""

    folder: Path
    env: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def start(self, name: str) -> None:
        env = self.env | {"MPP_SERVICE_NAME": name, "MPP_HTTP_PORT": str(self.ports[name])}
        log = (self.folder / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", name], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        self.wait_ready(name)

    def wait_ready(self, name: str, timeout: float = 60) -> None:
        url = f"http://127.0.0.1:{self.ports[name]}/ready"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise AssertionError(
                    f"{name} exited: {(self.folder / f'{name}.log').read_text()[-3000:]}"
                )
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"{name} not ready after {timeout}s")

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def platform(
    namespace: str, postgres: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """Gateway and services on free ports, sharing the real servers but not their data (each
    service's database of this run is made by the `postgres` fixture)."""
    folder = tmp_path_factory.mktemp("platform")
    ports = {name: _free_port() for name in (*SERVICES, "gateway")}
    env = dict(os.environ) | {
        "MPP_NAMESPACE": namespace,
        "MPP_ENVIRONMENT": "test",
        "MPP_KAFKA_PARTITIONS": "1",
        "MPP_POSTGRES_PORT": str(postgres_port()),
        **{f"MPP_{name.upper()}_URL": f"http://127.0.0.1:{ports[name]}" for name in SERVICES},
        "MPP_JWKS_URL": f"http://127.0.0.1:{ports['gateway']}/api/v1/.well-known/jwks.json",
        # Every test signs people in from this one address; the limit itself is tested in the
        # gateway's own tests.
        "MPP_RATE_LIMIT_AUTH_PER_CLIENT": "1000/minute",
    }
    env.pop("MPP_JWKS", None)
    running = Platform(folder=folder, env=env, ports=ports)
    seeded = subprocess.run(
        [sys.executable, "-m", "catalog.seed", "load"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    try:
        for name in (*SERVICES, "gateway"):
            running.start(name)
        yield running
    finally:
        for name in list(running.processes):
            running.stop(name)


def run_async(coroutine: Any) -> Any:
    """Run a coroutine to its end from plain test code, even where Playwright's sync API keeps
    an event loop running in this thread: in a thread of its own."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


# --- a real browser: Debian's Chromium driven by Playwright ---------------------------------------

CHROMIUM = os.environ.get("MPP_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling home, refused on closed networks.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / "build" / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the run (the system's, not a downloaded one)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set MPP_CHROMIUM)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test, so a page fixture knows the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _page(
    browser: Any, platform: Platform, request: pytest.FixtureRequest, **options: Any
) -> Iterator[Any]:
    """A fresh browser profile on the platform; fails the test on any uncaught script error and
    keeps a screenshot of the page as it was when a test failed."""
    context = browser.new_context(base_url=platform.gateway, **options)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    call = getattr(request.node, "report_call", None)
    if call is not None and call.failed:
        screenshot(page, f"FAILED-{request.node.name}")
    context.close()
    assert not errors, f"script errors in the page: {errors}"


@pytest.fixture
def phone(browser: Any, platform: Platform, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A cheap phone: 360 px wide, touch, Indonesian."""
    yield from _page(
        browser,
        platform,
        request,
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="id-ID",
    )


@pytest.fixture
def desk(browser: Any, platform: Platform, request: pytest.FixtureRequest) -> Iterator[Any]:
    """An officer's desk screen."""
    yield from _page(
        browser, platform, request, viewport={"width": 1366, "height": 800}, locale="id-ID"
    )


@pytest.fixture
def wall(browser: Any, platform: Platform, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The command center's wall screen."""
    yield from _page(
        browser, platform, request, viewport={"width": 1920, "height": 1080}, locale="id-ID"
    )


def screenshot(page: Any, name: str) -> Path:
    """Save what the page shows now under build/screenshots/<name>.png."""
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# axe's label-content-name-mismatch (WCAG 2.5.3, label in name), word by word: a control named
# with aria-label or aria-labelledby must have its visible words in its name, so that someone who
# says "click EN" to voice control, or hears the name read out, meets what the eye sees.
_NAME_MISMATCHES = r"""() => {
  const words = (text) => text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
    .replace(/[^\p{L}\p{N}]+/gu, " ").trim().toLowerCase();
  const controls = "button, a[href], summary, input[type=button], input[type=submit], " +
    "[role=button], [role=link], [role=menuitem], [role=tab], [role=checkbox], [role=switch]";
  const found = [];
  for (const control of document.querySelectorAll(controls)) {
    const ids = control.getAttribute("aria-labelledby");
    const name = ids
      ? ids.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? "").join(" ")
      : control.getAttribute("aria-label");
    if (name === null || !control.checkVisibility()) continue;
    const text = words(control.innerText);
    if (text.length < 2) continue;  // a lone letter or an icon says nothing (as axe skips it)
    if (!` ${words(name)} `.includes(` ${text} `)) {
      found.push(`${control.outerHTML.slice(0, 100)} is named "${name}"`);
    }
  }
  return found;
}"""


def label_in_name_mismatches(page: Any) -> list[str]:
    """The visible controls whose accessible name leaves out the words they show."""
    found: list[str] = page.evaluate(_NAME_MISMATCHES)
    return found


# --- people of the mall, made through the gateway as anyone would ---------------------------------

PASSWORD = "kuda lari di pantai"


def sign_in(platform: Platform, username: str, password: str) -> dict[str, str]:
    """Sign in; the Authorization header of the new access token."""
    response = httpx.post(
        f"{platform.gateway}/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def register_citizen(
    platform: Platform, name: str = "Siti Aminah", email: str | None = None
) -> dict[str, Any]:
    """Register a citizen and verify the phone with the SMS the notifications service sent."""
    import re
    import secrets

    from mpp_shared.testing import eventually, mailbox, sms_address

    phone = f"0813{secrets.randbelow(10**8):08d}"
    day, month = secrets.randbelow(28) + 41, secrets.randbelow(12) + 1  # a woman: day + 40
    nik = f"730701{day}{month:02d}85{secrets.randbelow(9000) + 1000}"
    registered = httpx.post(
        f"{platform.gateway}/api/v1/auth/register",
        json={"nik": nik, "name": name, "phone": phone, "password": PASSWORD}
        | ({"email": email} if email else {}),
        timeout=10,
    )
    assert registered.status_code == 201, registered.text

    async def delivered() -> list[dict[str, Any]]:
        return await mailbox(sms_address("+62" + phone[1:]))

    [sms] = run_async(eventually(delivered, timeout=30))
    code = re.search(r"\b(\d{6})\b", str(sms["Text"]))
    assert code is not None
    verified = httpx.post(
        f"{platform.gateway}/api/v1/auth/verify-phone",
        json={"phone": phone, "code": code.group(1)},
        timeout=10,
    )
    assert verified.status_code == 200, verified.text
    return {
        "id": registered.json()["id"],
        "nik": nik,
        "phone": phone,
        "sms": sms,
        "headers": {"Authorization": f"Bearer {verified.json()['access_token']}"},
    }


def staff_member(platform: Platform, role: str, agency: str | None = None) -> dict[str, str]:
    """Create a staff account as the bootstrap administrator; its Authorization header."""
    return sign_in(platform, staff_account(platform, role, agency), PASSWORD)


def staff_account(platform: Platform, role: str, agency: str | None = None) -> str:
    """Create a staff account as the bootstrap administrator; its username (the password is
    PASSWORD), to sign in on a page."""
    import secrets

    from mpp_shared.settings import DEVELOPMENT_SECRET

    admin = sign_in(platform, "admin", DEVELOPMENT_SECRET)
    username = f"{role.replace('_', '')}.{secrets.token_hex(3)}"
    created = httpx.post(
        f"{platform.gateway}/api/v1/auth/staff",
        json={
            "username": username,
            "name": f"Staf {username}",
            "role": role,
            "agency": agency,
            "password": PASSWORD,
        },
        headers=admin,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    return username


def announce_document(platform: Platform, owner: str, requirement: str) -> str:
    """Stand in for the documents service: announce a checked document of `owner` on Kafka."""
    import secrets

    from mpp_shared import events, topics
    from mpp_shared.contracts.documents import DocumentUploaded
    from mpp_shared.kafka import create_producer
    from mpp_shared.settings import ServiceSettings

    document_id = f"doc-{secrets.token_hex(8)}"
    event = events.new_event(
        type="documents.document.uploaded.v1",
        source=topics.source_of("documents"),
        subject=document_id,
        data=DocumentUploaded(
            document_id=document_id,
            owner=owner,
            content_type="application/pdf",
            size=2048,
            sha256="ab" * 32,
            requirement=requirement,
        ),
    )
    settings = ServiceSettings(service_name="e2e", namespace=platform.env["MPP_NAMESPACE"])

    async def send() -> None:
        producer = create_producer(settings)
        await producer.start()
        try:
            record = events.to_kafka(event)
            await producer.send_and_wait(
                settings.topic(topics.DOCUMENTS),
                value=record.value,
                key=str(record.key).encode(),
                headers=list(record.headers.items()),
            )
        finally:
            await producer.stop()

    run_async(send())
    return document_id


def upload_document(platform: Platform, citizen: dict[str, Any], requirement: str) -> str:
    """Upload a small PDF through the gateway as the citizen's phone would; its id."""
    import io

    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, f"{requirement} of {citizen['id']}")
    page.save()
    response = httpx.post(
        f"{platform.gateway}/api/v1/documents",
        files={"file": (f"{requirement}.pdf", out.getvalue(), "application/pdf")},
        data={"service": "akta-kelahiran", "requirement": requirement},
        headers=citizen["headers"],
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])

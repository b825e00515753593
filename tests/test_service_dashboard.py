"""The dashboard in real headless Chromium (Debian's /usr/bin/chromium through Playwright), under its
own Content-Security-Policy (no eval, no inline script): reserves sent over HTTP appear without a
reload, every cap is a used-vs-limit bar, a halted state shows with who and why, a decision opens its
full detail; nothing is fetched from outside the service. Screenshots go to the test's tmp dir."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from service_fixtures import ADMIN, READ, TRADE, LiveService, intent, prime, running, service_settings

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    _missing = f"the dashboard tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("RISKGUARD_REQUIRE_BROWSER") == "1":  # CI: the browser tests must run there
        pytest.fail(f"RISKGUARD_REQUIRE_BROWSER=1: {_missing}", pytrace=False)
    pytest.skip(_missing, allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (the test extra)")

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
CAP_KINDS = ("global_concurrency", "strategy_concurrency", "symbol_nav", "gross_exposure", "same_direction",
             "correlated_group", "total_risk", "daily_trades")
WAIT_MS = 15_000

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    settings = service_settings(f"sqlite:///{tmp_path_factory.mktemp('dash') / 'ledger.db'}")
    settings = type(settings)(**{**{f: getattr(settings, f) for f in settings.__slots__}, "dashboard_poll_s": 0.5})
    for service in running(settings):
        with service.client(TRADE) as http:
            prime(http)
        yield service


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: object, live: LiveService, tmp_path: Path) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    page = context.new_page()
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.goto(f"{live.url}/#token={READ}")
    page.wait_for_selector("#trading-state.ACTIVE, #trading-state.REDUCING, #trading-state.HALTED", timeout=WAIT_MS)
    try:
        yield page
    finally:
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        context.close()


def test_a_reserve_sent_over_http_appears_without_a_reload(live: LiveService, page: object, tmp_path: Path) -> None:
    with live.client(TRADE) as http:
        reserved = http.post("/v1/reserve", json={"intent": intent("dash-1", strategy="st_dash")}).json()
    assert reserved["reservation_id"]
    page.wait_for_selector("#decisions tbody tr >> text=dash-1", timeout=WAIT_MS)  # type: ignore[attr-defined]
    page.wait_for_selector(f"#reservations tbody tr >> text={reserved['reservation_id']}",  # type: ignore[attr-defined]
                           timeout=WAIT_MS)
    page.screenshot(path=str(tmp_path / "dashboard-reserve.png"), full_page=True)  # type: ignore[attr-defined]
    assert (tmp_path / "dashboard-reserve.png").stat().st_size > 10_000


def test_every_cap_is_a_bar_of_used_against_limit(page: object) -> None:
    shown = page.eval_on_selector_all(".cap", "rows => rows.map(r => r.dataset.cap)")  # type: ignore[attr-defined]
    assert set(CAP_KINDS) <= set(shown)
    text = page.inner_text("#caps .cap[data-cap='global_concurrency']")  # type: ignore[attr-defined]
    assert "/ 4 positions" in text


def test_a_vetoed_decision_shows_its_reasons_thresholds_and_opens_its_full_detail(live: LiveService,
                                                                                   page: object) -> None:
    with live.client(TRADE) as http:
        vetoed = http.post("/v1/reserve", json={"intent": intent("dash-veto", notional=9_000.0,
                                                                 strategy="st_dash_veto")}).json()
    row = page.wait_for_selector("#decisions tbody tr:has-text('dash-veto')", timeout=WAIT_MS)  # type: ignore[attr-defined]
    text = row.inner_text()
    assert "VETOED" in text and "trade_gt_max_trade_nav_pct" in text
    row.click()
    page.wait_for_selector("#decision-detail:has-text('\"explain\"')", timeout=WAIT_MS)  # type: ignore[attr-defined]
    assert vetoed["detail"]["decision_id"] in page.inner_text("#decision-detail")  # type: ignore[attr-defined]


def test_a_halted_state_shows_with_who_and_why(live: LiveService, page: object, tmp_path: Path) -> None:
    with live.client(ADMIN) as http:
        assert http.put("/v1/state", json={"state": "HALTED", "reason": "exchange outage",
                                           "actor": "alice"}).status_code == 200
    try:
        page.wait_for_selector("#trading-state.HALTED", timeout=WAIT_MS)  # type: ignore[attr-defined]
        who = page.inner_text("#state-who")  # type: ignore[attr-defined]
        assert "alice" in who and "exchange outage" in who
        page.screenshot(path=str(tmp_path / "dashboard-halted.png"), full_page=True)  # type: ignore[attr-defined]
    finally:
        with live.client(ADMIN) as http:
            http.put("/v1/state", json={"state": "ACTIVE", "reason": "outage over"})


def test_the_nav_chart_draws_the_marks(page: object) -> None:
    points = page.get_attribute("#nav-chart", "data-points")  # type: ignore[attr-defined]
    assert points is not None and int(points) >= 1
    assert page.locator("#nav-chart polyline").count() == 2  # type: ignore[attr-defined]


def test_the_page_fetches_nothing_from_outside_the_service(live: LiveService, page: object) -> None:
    page.wait_for_timeout(500)  # type: ignore[attr-defined]
    outside = [url for url in page.requests if not url.startswith(live.url)]  # type: ignore[attr-defined]
    assert outside == []


def test_without_a_token_the_page_asks_for_one_and_shows_no_data(browser: object, live: LiveService) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        page.goto(f"{live.url}/")
        page.wait_for_selector("#login:not([hidden])", timeout=WAIT_MS)
        assert page.inner_text("#trading-state") == "?"
        page.fill("#token", "wrong")
        page.click("#login button")
        page.wait_for_selector("#live:has-text('refused')", timeout=WAIT_MS)
    finally:
        context.close()


def _open_kill_dialog(page: object, reason: str, confirmation: str) -> None:
    page.click("#kill")  # type: ignore[attr-defined]
    page.wait_for_selector("#kill-dialog[open]", timeout=WAIT_MS)  # type: ignore[attr-defined]
    page.fill("#kill-reason", reason)  # type: ignore[attr-defined]
    page.fill("#kill-confirm", confirmation)  # type: ignore[attr-defined]
    page.click("#kill-go")  # type: ignore[attr-defined]


def test_the_kill_switch_button_sends_nothing_until_activate_is_typed(page: object) -> None:
    posted: list[str] = []
    page.on("request", lambda request: posted.append(request.url) if request.method == "POST" else None)  # type: ignore[attr-defined]
    _open_kill_dialog(page, "testing the guard", "yes")
    page.wait_for_timeout(300)  # type: ignore[attr-defined]
    assert page.is_visible("#kill-dialog")  # type: ignore[attr-defined]  # still asking
    page.click("#kill-cancel")  # type: ignore[attr-defined]
    assert not any(url.endswith("/v1/killswitch") for url in posted)


def test_the_kill_switch_button_with_a_read_token_is_refused_and_says_so(page: object, live: LiveService) -> None:
    _open_kill_dialog(page, "read token tries", "ACTIVATE")
    page.wait_for_selector("#kill-result[data-outcome='refused']", timeout=WAIT_MS)  # type: ignore[attr-defined]
    assert "403" in page.inner_text("#kill-result")  # type: ignore[attr-defined]
    with live.client(READ) as http:
        assert http.get("/v1/state").json()["trading_state"] != "HALTED"


def test_the_kill_switch_button_with_an_admin_token_halts_every_bot(browser: object, live: LiveService,
                                                                  tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        page.goto(f"{live.url}/#token={ADMIN}")
        page.wait_for_selector("#trading-state.ACTIVE, #trading-state.REDUCING", timeout=WAIT_MS)
        _open_kill_dialog(page, "runaway bot seen on the dashboard", "ACTIVATE")
        page.wait_for_selector("#kill-result[data-outcome='activated']", timeout=WAIT_MS)
        page.wait_for_selector("#trading-state.HALTED", timeout=WAIT_MS)
        page.screenshot(path=str(tmp_path / "dashboard-kill-switch.png"), full_page=True)
        with live.client(TRADE) as http:
            vetoed = http.post("/v1/reserve", json={"intent": intent("after-kill", strategy="st_kill")}).json()
        assert vetoed["veto"] and "trading_halted" in vetoed["detail"]["reasons"]
    finally:
        context.close()
        with live.client(ADMIN) as http:
            http.post("/v1/killswitch", json={"action": "release", "reason": "test over"})
            http.put("/v1/state", json={"state": "ACTIVE", "reason": "test over"})

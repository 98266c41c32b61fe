"""Warm pages in Chromium: navigation → chart drawn, for the overview and the explorer, on a big database.

Starts the real app (`python -m tds_dash run`, no ingest, no scheduler, no demo fleet) against a database
kept by `bench/bigdata.py --keep DIR` (or any `DATABASE_URL`), signs in through the login form in Debian's
headless Chromium (never a downloaded browser), opens each page once to warm it (Python imports, plans,
PostgreSQL pages, the browser's cache of Dash's scripts), then times `--repeat` navigations: from the
`driver.get` of the page's address until its chart has drawn its data (bars or lines in the plot's SVG,
the loading placeholder gone). Prints p50 / p95 / max per page. Then the same pages reached the way a
signed-in user moves between them: from the other page, a navbar link (Dash's client-side route: the
history push dcc.Link makes, no reload of Dash's scripts) until the chart has drawn, p50 / p95 / max.

With --payloads, also prints for one warm view of each page what every request sent and received (bytes
of the request body and of the decoded response, the callback's output, ms): what the browser has to take in,
which the machine's load does not change.

Usage: python bench/browser_pages.py --reuse /tmp/scale-big/pg [--repeat 10] [--payloads]
       DATABASE_URL=postgresql://… python bench/browser_pages.py
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USERNAME, PASSWORD = "bench-browser", "correct horse battery staple"
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update", "--no-first-run",
                  "--window-size=1440,1000")
# (label, address, chart element id): what a stakeholder opens; the explorer's views by their URL state.
PAGES = (
    ("overview, whole fleet", "/", "overview-monthly-chart"),
    ("explorer, default view (whole fleet)", "/explorer", "explorer-chart"),
    ("explorer, 13 months by month, compare on", "/explorer?preset=last_12_months&granularity=month&compare=1",
     "explorer-chart"),
)
# True once the chart's SVG holds a data trace with marks (the placeholder figure has none).
DRAWN = """
const chart = document.getElementById(arguments[0]);
if (!chart || chart.querySelector('.dash-spinner, ._dash-loading')) return false;
return chart.querySelectorAll('g.trace.bars path, g.trace.scatter path.js-line').length > 0;
"""
# Installed before any page script (CDP): every fetch's URL, Dash output, bytes sent and received, ms.
RECORD_FETCHES = """
window.__tdsRequests = [];
const tdsFetch = window.fetch;
window.fetch = async function(input, init) {
  const started = performance.now(), body = init && typeof init.body === 'string' ? init.body : '';
  let output = '';
  try { output = body ? JSON.parse(body).output || '' : ''; } catch (e) {}
  const response = await tdsFetch.apply(this, arguments);
  response.clone().text().then(text => window.__tdsRequests.push({
    url: String(input && input.url || input), output: output, sent: new Blob([body]).size,
    received: new Blob([text]).size, at: Math.round(started), ms: Math.round(performance.now() - started)}));
  return response;
};
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reuse", type=Path, help="embedded PostgreSQL data directory kept by bench/bigdata.py")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for one chart")
    parser.add_argument("--payloads", action="store_true", help="print each request's bytes for one warm view")
    parser.add_argument("--page", action="append", default=[], help="only pages whose label holds this text")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bench.common import machine  # noqa: PLC0415
    from tds_dash.background.embedded import EmbeddedPostgres  # noqa: PLC0415

    print(f"machine: {machine()}")
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, load average {_load()}")
    server = EmbeddedPostgres(args.reuse) if args.reuse else None
    dsn = server.dsn if server else os.environ["DATABASE_URL"]  # postgresql://… (the app's DATABASE_URL)
    data_dir = Path(tempfile.mkdtemp(prefix="tds-browser-bench-"))
    app = None
    try:
        _ensure_user(dsn)
        port = _free_port()
        app = _start_app(dsn, port, data_dir)
        pages = [page for page in PAGES if not args.page or any(text in page[0] for text in args.page)]
        _measure(f"http://127.0.0.1:{port}", pages, args.repeat, args.timeout, args.payloads)
    finally:
        if app is not None:
            app.terminate()
            app.wait(timeout=30)
        if server is not None:
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"load average at the end {_load()}")


def _ensure_user(dsn: str) -> None:
    from tds_dash.auth.users import create_user  # noqa: PLC0415
    from tds_dash.db import create_db_engine, session_scope  # noqa: PLC0415
    from tds_dash.migrate import apply_migrations  # noqa: PLC0415
    from tds_dash.queries.users import get_user_by_username  # noqa: PLC0415

    apply_migrations(dsn)
    engine = create_db_engine(dsn.replace("postgres://", "postgresql://", 1).replace(
        "postgresql://", "postgresql+psycopg://", 1))
    with session_scope(engine) as conn:
        exists = get_user_by_username(conn, USERNAME) is not None
    if not exists:
        create_user(engine, None, USERNAME, USERNAME, PASSWORD, "admin", [])
    engine.dispose()


def _start_app(dsn: str, port: int, data_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": dsn, "PORT": str(port), "TDS_HOST": "127.0.0.1", "TDS_INGEST": "false",
           "TDS_SCHEDULER": "false", "TDS_DEMO_FLEET": "false", "TDS_DATA_DIR": str(data_dir)}
    app = subprocess.Popen([sys.executable, "-m", "tds_dash", "run"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=open(data_dir / "app.log", "w"))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if app.poll() is not None:
            raise SystemExit(f"the app exited ({app.returncode}): {(data_dir / 'app.log').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return app
        except OSError:
            time.sleep(0.3)
    app.terminate()
    raise SystemExit("the app did not listen within 120 s")


def _driver():
    from selenium import webdriver  # noqa: PLC0415
    from selenium.webdriver.chrome.options import Options  # noqa: PLC0415
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    options = Options()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                            options=options)


def _measure(base: str, pages, repeat: int, timeout: float, payloads: bool = False) -> None:
    from bench.common import percentile  # noqa: PLC0415

    driver = _driver()
    try:
        driver.get(base + "/login")
        _wait(lambda: driver.find_elements("id", "login-username"), timeout)
        driver.find_element("id", "login-username").send_keys(USERNAME)
        driver.find_element("id", "login-password").send_keys(PASSWORD)
        driver.find_element("id", "login-submit").click()
        _wait(lambda: driver.find_elements("id", "nav-user"), timeout)
        print("page | cold ms | warm p50 / p95 / max ms")
        for label, address, chart in pages:
            cold = _open(driver, base + address, chart, timeout)
            samples = [_open(driver, base + address, chart, timeout) for _ in range(repeat)]
            print(f"{label} | {cold:,.0f} | {percentile(samples, 0.5):,.0f} / {percentile(samples, 0.95):,.0f}"
                  f" / {max(samples):,.0f}", flush=True)
        print("page reached in the app (navbar link from the other page) | p50 / p95 / max ms")
        for label, address, chart in pages:
            origin = next(page for page in PAGES if page[2] != chart)
            samples = [_navigate(driver, base, origin, address, chart, timeout) for _ in range(repeat)]
            print(f"{label}, from {origin[0].split(',')[0]} | {percentile(samples, 0.5):,.0f} / "
                  f"{percentile(samples, 0.95):,.0f} / {max(samples):,.0f}", flush=True)
        if payloads:
            driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_FETCHES})
            for label, address, chart in pages:
                drawn = _open(driver, base + address, chart, timeout)
                print(f"\n{label}: chart drawn {drawn:,.0f} ms after the navigation began", end="")
                time.sleep(2)  # the requests after the chart (table, measure, url) land
                _print_requests(label, driver.execute_script("return window.__tdsRequests || [];"))
    finally:
        driver.quit()


def _open(driver, url: str, chart: str, timeout: float) -> float:
    """ms from the navigation's start until the chart shows its data."""
    driver.get("about:blank")
    started = time.perf_counter()
    driver.get(url)
    _wait(lambda: driver.execute_script(DRAWN, chart), timeout, poll=0.02)
    return (time.perf_counter() - started) * 1000


# What dcc.Link does on a click: push the address, then tell Dash's location component (no page reload).
NAVIGATE = """
window.history.pushState({}, '', arguments[0]);
window.dispatchEvent(new CustomEvent('_dashprivate_pushstate'));
"""


def _navigate(driver, base: str, origin, address: str, chart: str, timeout: float) -> float:
    """ms from a client-side navigation (as a navbar link makes it) on the origin page until the chart shows
    its data; the origin is opened and drawn first, and its chart is another element."""
    _open(driver, base + origin[1], origin[2], timeout)
    started = time.perf_counter()
    driver.execute_script(NAVIGATE, address)
    _wait(lambda: driver.execute_script(DRAWN, chart), timeout, poll=0.02)
    return (time.perf_counter() - started) * 1000


def _print_requests(label: str, requests: list[dict]) -> None:
    """One line per request of a page view (Dash output, bytes sent / received, ms), then the sums."""
    print(f"\n{label}: request | sent bytes | received bytes | started at ms (from navigation) | ms")
    for request in sorted(requests, key=lambda r: r["at"]):
        name = request["output"] or request["url"].rsplit("/", 1)[-1][:60]
        print(f"  {name[:90]} | {request['sent']:,} | {request['received']:,} | {request['at']:,} | {request['ms']:,}")
    sent, received = sum(r["sent"] for r in requests), sum(r["received"] for r in requests)
    print(f"  total: {len(requests)} requests, {sent:,} bytes sent, {received:,} bytes received", flush=True)


def _wait(condition, timeout: float, poll: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for the page")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _load() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


if __name__ == "__main__":
    main()

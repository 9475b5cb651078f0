"""The Dagster UI an analyst opens in the morning, tested in a real browser.

`dagster dev -w workspace.yaml` is started on 127.0.0.1 against the session's demo warehouse and its
own Dagster instance (WAREHOUSE/dagster_home), which holds the run `claimback run` made — not a run
the UI started. GraphQL proves the code location loaded, that run is the last one, every asset
materialized and the blocking checks passed; headless Debian Chromium (driven over DevTools, waiting
for each page's own words) then finds the Today table rendered as a table and saves screenshots of
the asset graph, the catalog, the `denials` and `work_queue` pages, the Today table, the work
queue's checks, the last run and a request packet into docs/screenshots/ (not tracked by git: the
walkthrough's pictures are regenerated here from the demo, never hand-made, never stale). Nothing
leaves the loopback interface.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.ui.demo_warehouse import BIN, JOB, LOCATION, ROOT, DemoWarehouse
from tests.ui.devtools import Browser

pytestmark = pytest.mark.slow

SCREENSHOTS = ROOT / "docs" / "screenshots"
SERVER_START_TIMEOUT_S = 180
LOCATION_LOAD_TIMEOUT_S = 180
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--disable-dev-shm-usage", "--hide-scrollbars",
)
# The assets whose pages analysts read most, and that the walkthrough shows.
ASSET_PAGES = ("denials", "work_queue")


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("Debian's chromium is not installed: run `make browser-deps` (as root) to install it")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DagsterUI:
    """A `dagster dev` process on a free loopback port; stopped by its pid when the test ends."""

    def __init__(self, demo: DemoWarehouse, log: Path):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._log_handle = log.open("w")
        self.process = subprocess.Popen(
            [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(self.port)],
            cwd=ROOT, env=demo.env, stdout=self._log_handle, stderr=subprocess.STDOUT,
            start_new_session=True,  # its webserver, daemon and code server form one group we own
        )

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"dagster dev exited with {self.process.returncode}:\n{self._log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base}/server_info", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(1)
        raise AssertionError(f"dagster dev did not answer /server_info in {SERVER_START_TIMEOUT_S}s:\n{self._log_tail()}")

    def graphql(self, query: str) -> dict:
        request = urllib.request.Request(
            f"{self.base}/graphql", data=json.dumps({"query": query}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.load(response)
        assert not payload.get("errors"), payload["errors"]
        return payload["data"]

    def stop(self) -> None:
        """TERM to `dagster dev` (it stops its children); then to the group it leads; then KILL."""
        for signal_to, whom, grace_s in ((signal.SIGTERM, "leader", 20), (signal.SIGTERM, "group", 10),
                                         (signal.SIGKILL, "group", 30)):
            if self.process.poll() is not None:
                break
            if whom == "leader":
                self.process.send_signal(signal_to)
            else:
                os.killpg(self.process.pid, signal_to)  # the group this test started, nothing else
            try:
                self.process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                continue
        try:  # a child that outlived its leader (the group id stays ours while any member lives)
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._log_handle.close()

    def _log_tail(self) -> str:
        self._log_handle.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


@pytest.fixture(scope="module")
def ui(demo: DemoWarehouse, tmp_path_factory):
    server = DagsterUI(demo, tmp_path_factory.mktemp("dagster-dev") / "dagster-dev.log")
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


def _location_status(ui: DagsterUI) -> dict[str, str]:
    data = ui.graphql("{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }")
    return {e["name"]: e["loadStatus"] for e in data["workspaceOrError"]["locationEntries"]}


@pytest.fixture(scope="module")
def loaded(ui: DagsterUI) -> DagsterUI:
    deadline = time.monotonic() + LOCATION_LOAD_TIMEOUT_S
    while (status := _location_status(ui)).get(LOCATION) != "LOADED" and time.monotonic() < deadline:
        time.sleep(1)
    assert status.get(LOCATION) == "LOADED", f"code location status: {status}"
    return ui


_ASSETS_QUERY = """{
  assetNodes {
    assetKey { path }
    description
    assetMaterializations(limit: 1) {
      runId
      metadataEntries { label __typename ... on MarkdownMetadataEntry { mdStr } ... on TextMetadataEntry { text } }
    }
    assetChecksOrError {
      ... on AssetChecks {
        checks { name blocking executionForLatestMaterialization { status evaluation { success description } } }
      }
    }
  }
}"""


@pytest.fixture(scope="module")
def asset_nodes(loaded: DagsterUI) -> dict[str, dict]:
    nodes = loaded.graphql(_ASSETS_QUERY)["assetNodes"]
    return {"/".join(n["assetKey"]["path"]): n for n in nodes}


def test_code_location_loaded(loaded: DagsterUI):
    assert _location_status(loaded)[LOCATION] == "LOADED"


def test_the_last_run_is_the_one_claimback_run_made(loaded: DagsterUI):
    data = loaded.graphql("{ runsOrError(limit: 5) { ... on Runs { results { runId jobName status "
                          "tags { key value } } } } }")
    runs = data["runsOrError"]["results"]
    assert runs, "the UI shows no runs: the instance does not hold the demo run"
    assert runs[0]["jobName"] == JOB and runs[0]["status"] == "SUCCESS", runs[0]
    assert {"key": "claimback/started_by", "value": "claimback run"} in runs[0]["tags"], runs[0]["tags"]


def test_every_asset_materialized_and_is_described(asset_nodes: dict[str, dict]):
    assert set(ASSET_PAGES) <= set(asset_nodes), sorted(asset_nodes)
    missing = sorted(key for key, node in asset_nodes.items() if not node["assetMaterializations"])
    assert not missing, f"assets never materialized: {missing}"
    undescribed = sorted(key for key, node in asset_nodes.items() if not (node["description"] or "").strip())
    assert not undescribed, f"assets without a description for analysts: {undescribed}"


def test_blocking_checks_passed_and_read_as_sentences(asset_nodes: dict[str, dict]):
    checks = [
        (key, check)
        for key, node in asset_nodes.items()
        for check in (node["assetChecksOrError"] or {}).get("checks", [])
    ]
    blocking = [(key, c) for key, c in checks if c["blocking"]]
    assert blocking, "the job has no blocking checks"
    for key, check in blocking:
        execution = check["executionForLatestMaterialization"]
        assert execution and execution["status"] == "SUCCEEDED", f"{key}:{check['name']} -> {execution}"
    for key, check in checks:
        evaluation = (check["executionForLatestMaterialization"] or {}).get("evaluation") or {}
        # a check result an analyst reads: words, not just a flag
        assert len((evaluation.get("description") or "").split()) >= 3, f"{key}:{check['name']} has no sentence"


def test_no_patient_names_in_metadata_or_run_logs(loaded: DagsterUI, asset_nodes: dict[str, dict], demo):
    texts = [json.dumps(asset_nodes)]
    run_id = next(n["assetMaterializations"][0]["runId"] for n in asset_nodes.values() if n["assetMaterializations"])
    logs = loaded.graphql(
        '{ logsForRun(runId: "%s") { ... on EventConnection { events { __typename ... on MessageEvent { message } } } } }'
        % run_id
    )
    texts.append(json.dumps(logs))
    shown = "\n".join(texts).upper()
    names = demo.patient_names()
    assert names, "the demo has no patient names to look for"
    # A leaked name shows as a word of its own; matched inside another word it is no leak (a first
    # name such as INES is in the table names DENIAL_LINES and REMIT_SERVICE_LINES).
    leaked = sorted(name for name in names if re.search(rf"\b{re.escape(name.upper())}\b", shown))
    assert not leaked, f"{len(leaked)} synthetic patient names appear in the UI's metadata or logs"


@pytest.fixture(scope="module")
def browser(loaded: DagsterUI):
    """One headless Chromium for every page: started once, ended by its pid after the module."""
    chromium = Browser(_chromium(), CHROMIUM_FLAGS, _free_port())
    try:
        yield chromium
    finally:
        chromium.close()


def _has_text(*texts: str) -> str:
    return " && ".join(f"document.body.innerText.includes({json.dumps(t)})" for t in texts)


def _capture(browser: Browser, url: str, name: str, ready: tuple[str, ...], height: int = 1000) -> Path:
    """Open `url`, wait until every text in `ready` is on the page, and save the picture."""
    browser.set_viewport(1600, height)
    browser.goto(url)
    browser.wait_for(_has_text(*ready))
    time.sleep(1.5)  # the graph lays itself out and fades in after its data arrives
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return browser.screenshot(SCREENSHOTS / f"{name}.png")


def _first_metadata_label(asset_nodes: dict[str, dict], key: str) -> str:
    """The first entry the metadata table shows (Dagster's own dagster/* entries are shown elsewhere)."""
    entries = asset_nodes[key]["assetMaterializations"][0]["metadataEntries"]
    return next(e["label"] for e in entries if not e["label"].startswith("dagster/"))


def _pages(asset_nodes: dict[str, dict]) -> dict[str, tuple[str, tuple[str, ...], int]]:
    """Each page the walkthrough shows: name -> (path, texts that mean it has loaded, window height).

    Asset pages get a taller window so the metadata below the description is in the picture.
    """
    run_id = asset_nodes["work_queue"]["assetMaterializations"][0]["runId"]
    groups = ("ingest", "denials", "trends", "routing", "publish")
    return {
        "asset-graph": ("/asset-groups", ("Global asset lineage", *groups), 1000),
        # the catalog draws the rows in the window: the first few, alphabetically (one per lake table)
        "asset-catalog": ("/assets", (*sorted(asset_nodes)[:3], "Materialized"), 1000),
        "asset-denials": ("/assets/denials", ("Latest materialization", _first_metadata_label(asset_nodes, "denials")), 1600),
        "asset-work-queue": ("/assets/work_queue", ("Latest materialization", _first_metadata_label(asset_nodes, "work_queue")), 1600),
        "work-queue-checks": ("/assets/work_queue?view=checks", ("Latest execution", "Passed"), 1000),
        "last-run": (f"/runs/{run_id}", ("Success", "RUN_SUCCESS"), 1000),
    }


SCREENSHOT_NAMES = ("asset-graph", "asset-catalog", "asset-denials", "asset-work-queue", "work-queue-checks", "last-run")

# The Today table: the metadata row labelled "today" holds a real <table> (Dagster's table metadata).
_TODAY_TABLE = """(() => {
  const row = [...document.querySelectorAll('tr')].find(r => r.firstElementChild
      && r.firstElementChild.innerText.trim() === 'today' && r.querySelector('table'));
  if (!row) { return null; }
  const table = row.querySelector('table');
  row.scrollIntoView({block: 'start'});
  return {
    headers: [...table.querySelectorAll('thead th')].map(th => th.innerText.trim()),
    rows: [...table.querySelectorAll('tbody tr')].map(tr => [...tr.querySelectorAll('td')].map(td => td.innerText.trim()))
        .filter(cells => cells.length),
  };
})()"""


def test_today_is_rendered_as_a_table_and_screenshotted(loaded: DagsterUI, browser: Browser, demo):
    import duckdb

    with duckdb.connect(str(demo.database), read_only=True) as con:
        expected = con.sql("SELECT patient_control_number, route FROM analyst_today LIMIT 50").fetchall()
        columns = [c[0] for c in con.sql("DESCRIBE analyst_today").fetchall()]
    assert expected, "nothing is due in the demo's week: the Today table would prove nothing"
    browser.set_viewport(2400, 1200)  # wide enough for every column, the packet path last
    browser.goto(f"{loaded.base}/assets/work_queue")
    browser.wait_for(_has_text("Latest materialization", "today"))
    browser.wait_for(f"Boolean({_TODAY_TABLE})", timeout_s=60)
    shown = browser.evaluate(_TODAY_TABLE)
    # one header per column, whole ("patient_control_number", never "patient_contr" / "ol_number")
    assert [h.split("\n")[0] for h in shown["headers"]] == columns
    # one table row per item, each cell on its row: nothing wrapped into extra rows
    assert len(shown["rows"]) == len(expected)
    pcn, route = columns.index("patient_control_number"), columns.index("route")
    assert [(r[pcn], r[route]) for r in shown["rows"]] == expected
    time.sleep(1)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert browser.screenshot(SCREENSHOTS / "today.png").stat().st_size > 20_000


def test_a_packet_on_todays_list_opens(demo):
    """The walkthrough's last step: the packet named in the Today table is a PDF in the warehouse."""
    import duckdb

    with duckdb.connect(str(demo.database), read_only=True) as con:
        packet = con.sql("SELECT packet FROM analyst_today WHERE packet LIKE '%.pdf' LIMIT 1").fetchone()
    assert packet, "no item due this week has a packet"
    path = demo.warehouse / packet[0]
    assert path.read_bytes().startswith(b"%PDF")
    try:
        import pypdfium2
    except ImportError:
        pytest.skip("pypdfium2 (a test dependency) is not installed: no picture of the packet")
    page = pypdfium2.PdfDocument(str(path))[0]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.render(scale=1.3).to_pil().save(SCREENSHOTS / "packet.png")
    assert (SCREENSHOTS / "packet.png").stat().st_size > 20_000


@pytest.mark.parametrize("name", SCREENSHOT_NAMES)
def test_screenshots_of_the_pages_analysts_read(loaded: DagsterUI, browser: Browser, asset_nodes, name: str):
    path, ready, height = _pages(asset_nodes)[name]
    shot = _capture(browser, f"{loaded.base}{path}", name, ready, height)
    assert shot.stat().st_size > 20_000, "the screenshot is (nearly) blank"
    assert not browser.evaluate(_has_text("Join the Dagster community")), \
        "the onboarding modal covers the page (nux not disabled in dagster.yaml)"


def _chart_entries(asset_nodes: dict[str, dict]) -> list[tuple[str, str]]:
    """(asset, metadata label) of every chart image in the latest materializations."""
    return [
        (key, entry["label"])
        for key, node in asset_nodes.items() if node["assetMaterializations"]
        for entry in node["assetMaterializations"][0]["metadataEntries"]
        if "data:image/png;base64," in (entry.get("mdStr") or "")
    ]


# Opens the metadata row's "[Show Markdown]" dialog (Dagster collapses Markdown over 1,000 characters).
_OPEN_MARKDOWN = """(() => {
  const row = [...document.querySelectorAll('tr')].find(r => r.firstElementChild
      && r.firstElementChild.innerText.trim() === %s);
  const button = row && [...row.querySelectorAll('*')].find(e => e.childElementCount === 0
      && e.textContent.trim() === '[Show Markdown]');
  if (button) { button.click(); }
  return Boolean(button);
})()"""
_CHART_SHOWN = "[...document.querySelectorAll('img')].some(i => i.src.startsWith('data:image/png;base64,') && i.naturalWidth > 100)"


def test_chart_metadata_renders_as_an_image(loaded: DagsterUI, browser: Browser, asset_nodes: dict[str, dict]):
    charts = _chart_entries(asset_nodes)
    if not charts:
        pytest.skip("no chart in any asset's metadata yet: the assets do not attach claimback.charts output")
    key, label = charts[0]
    browser.set_viewport(1600, 1000)
    browser.goto(f"{loaded.base}/assets/{key}")
    browser.wait_for(_has_text(label))
    browser.wait_for(_OPEN_MARKDOWN % json.dumps(label), timeout_s=30)
    browser.wait_for(_CHART_SHOWN)
    time.sleep(1)  # let the dialog finish its opening animation before the picture
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = browser.screenshot(SCREENSHOTS / f"asset-{key.replace('_', '-')}-chart.png")
    assert shot.stat().st_size > 20_000

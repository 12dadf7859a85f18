"""What a new user sees in the Dagster UI after `make demo`, read in a real (headless) browser.

The demo's own path, on a small demo shop: ``scripts/run_job.sh full_migration`` (what
scripts/demo.sh runs) with a ``DAGSTER_HOME`` holding ``dagster.local.yaml``, then
``dagster-webserver -w workspace.yaml`` and Debian's chromium through selenium. The UI must show:

- the lineage: the global asset graph's groups of table assets and of the report, and the
  report's upstream graph with every table of the catalog;
- a table's checks, by the names the code gives them, and the report's check;
- the run on the Runs page, on the job's own page and on the Overview timeline under the code
  location ``migration_assets``, with status Success. The last two list only runs that carry
  the workspace's code location: a ``dagster job execute -m`` run (none) is missing there.

Every wait is on the page's elements, never a fixed sleep. A failed assertion leaves a
screenshot and the page's text in the test's tmp folder (the path is in the message).

Processes: the webserver (with its code server) and chromedriver (with chromium) each run in
their own process group; a watchdog process, in its own session, ends those groups when this
test process is gone however it ended (kill -9 included), as tests/conftest.py does for the
database servers: it holds the read end of a pipe only this process writes to.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from migration_assets.lib.localdev.mariadb import free_port
from tests.helpers import MIGRATIONS, PROJECT_ROOT, demo_source_and_target, env_for


def _browser() -> tuple[Path, Path] | None:
    """(browser, its driver): Debian's chromium and chromium-driver, else the Chrome and
    chromedriver GitHub's Ubuntu runners ship (google-chrome, $CHROMEWEBDRIVER), whose apt
    chromium is only a snap; None when neither is installed. Never a download."""
    pairs = [(Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver"))]
    if os.environ.get("CHROMEWEBDRIVER") and shutil.which("google-chrome"):
        pairs.append((Path(shutil.which("google-chrome") or ""),
                      Path(os.environ["CHROMEWEBDRIVER"]) / "chromedriver"))
    return next(((b, d) for b, d in pairs if b.is_file() and d.is_file()), None)


BROWSER = _browser()
BIN = Path(sys.executable).parent
LOCATION = "migration_assets"  # workspace.yaml's location_name
WAIT_S = 30  # for one page's elements; the pages of a small demo render in a few seconds

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(BROWSER is None,
                       reason="needs Debian's chromium and chromium-driver (apt-get install -y "
                              "chromium chromium-driver; .ci/run installs them)"),
]
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the dev extra)")

# The watchdog: reads "+PGID" / "-PGID" lines, and at end-of-file (this process is gone, or
# closed the pipe) sends SIGKILL to every group it was told of and not told to forget.
WATCHDOG = """
import os, signal, sys
groups = set()
for line in sys.stdin:
    line = line.strip()
    if line[:1] == "+":
        groups.add(int(line[1:]))
    elif line[:1] == "-":
        groups.discard(int(line[1:]))
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
"""


class ProcessGroups:
    """Process groups this test started, ended in teardown or by the watchdog."""

    def __init__(self) -> None:
        self._watchdog = subprocess.Popen([sys.executable, "-c", WATCHDOG], stdin=subprocess.PIPE,
                                          text=True, start_new_session=True)

    def watch(self, pgid: int) -> None:
        self._send(f"+{pgid}")

    def stop(self, proc: subprocess.Popen, timeout_s: float = 20) -> None:
        """TERM to the group (the webserver stops its code server), KILL if it lingers."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        with contextlib.suppress(ProcessLookupError):  # children left in the group
            os.killpg(proc.pid, signal.SIGKILL)
        self._send(f"-{proc.pid}")

    def close(self) -> None:
        assert self._watchdog.stdin is not None
        self._watchdog.stdin.close()
        self._watchdog.wait(30)

    def _send(self, line: str) -> None:
        assert self._watchdog.stdin is not None
        self._watchdog.stdin.write(line + "\n")
        self._watchdog.stdin.flush()


@dataclass(frozen=True)
class Demo:
    url: str
    run_id: str
    tables: list[str]  # the catalog's table names
    table_keys: list[str]  # their assets' keys, e.g. target/<db>/orders
    group: str  # their assets' group: the source database's name
    folder: Path  # the test's tmp folder: logs and screenshots


def _run_id(output: str) -> str:
    """The id scripts/run_job.sh reports as ``run <id> of <job>: <status>``."""
    for line in output.splitlines():
        if line.startswith("run ") and " of full_migration: " in line:
            return line.split()[1]
    raise AssertionError(f"scripts/run_job.sh named no run:\n{output[-3000:]}")


def _wait_for_webserver(proc: subprocess.Popen, url: str, log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"dagster-webserver exited:\n{log.read_text()[-3000:]}"
        with (contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError),
              urllib.request.urlopen(f"{url}/server_info", timeout=2) as answer):
            if answer.status == 200:
                return
        time.sleep(0.3)
    raise AssertionError(f"dagster-webserver did not answer within {timeout_s:.0f} s:\n"
                         f"{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def groups() -> Iterator[ProcessGroups]:
    found = ProcessGroups()
    try:
        yield found
    finally:
        found.close()


@pytest.fixture(scope="module")
def demo(source_server, target_server, groups: ProcessGroups,  # noqa: ANN001
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo shop migrated by one full_migration run, and the UI serving its instance."""
    from migration_assets.defs.full_load.assets import table_key
    from migration_assets.lib import catalog as cat
    from migration_assets.lib.connection import connect
    from migration_assets.lib.dialects.mysql import quote
    from migration_assets.lib.introspect import read_catalog

    folder = tmp_path_factory.mktemp("ui")
    made = []

    def new_database(server, prefix: str = "t"):  # noqa: ANN001, ANN202 - as conftest's factory
        settings = server.settings(f"{prefix}_{uuid.uuid4().hex[:10]}")
        made.append(settings)
        return settings

    home = folder / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.local.yaml", home / "dagster.yaml")
    web = None
    try:
        source, target = demo_source_and_target(new_database, source_server, target_server, "ui",
                                                0.005, migrate_target=False)
        catalog_path = folder / "catalog.json"
        cat.save(read_catalog(source, batches=2, min_rows_per_batch=100), catalog_path)
        catalog = cat.load(catalog_path)
        env = {**env_for(source, target), "DAGSTER_HOME": str(home),
               "DBMIGRATE_CATALOG": str(catalog_path), "DBMIGRATE_MIGRATIONS_DIR": str(MIGRATIONS)}

        job = subprocess.Popen([str(PROJECT_ROOT / "scripts" / "run_job.sh"), "full_migration"],
                               cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
        groups.watch(job.pid)
        try:
            output, _ = job.communicate(timeout=120)
        finally:
            groups.stop(job)
        assert job.returncode == 0, f"scripts/run_job.sh full_migration failed:\n{output[-3000:]}"

        port = free_port()
        log = folder / "webserver.log"
        with log.open("w") as out:
            web = subprocess.Popen([str(BIN / "dagster-webserver"), "-w", "workspace.yaml",
                                    "-h", "127.0.0.1", "-p", str(port)],
                                   cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        groups.watch(web.pid)
        url = f"http://127.0.0.1:{port}"
        _wait_for_webserver(web, url, log)
        yield Demo(url=url, run_id=_run_id(output), tables=[t.name for t in catalog.tables],
                   table_keys=[table_key(catalog, t).to_user_string() for t in catalog.tables],
                   group=table_key(catalog, catalog.tables[0]).path[1],
                   folder=folder)
    finally:
        if web is not None:
            groups.stop(web)
        for settings in made:
            with connect(settings, use_database=False) as conn, conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS {quote(settings.database)}")


@pytest.fixture(scope="module")
def browser(groups: ProcessGroups) -> Iterator:
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    assert BROWSER is not None
    binary, driver_path = BROWSER
    options.binary_location = str(binary)  # with the driver's path: Selenium Manager never runs
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1600,1000"):
        options.add_argument(argument)
    service = Service(str(driver_path), popen_kw={"start_new_session": True})
    driver = webdriver.Chrome(service=service, options=options)
    assert service.process is not None
    groups.watch(service.process.pid)
    try:
        yield driver
    finally:
        driver.quit()
        groups.stop(service.process)


@contextlib.contextmanager
def page(browser, demo: Demo, path: str, name: str) -> Iterator[None]:  # noqa: ANN001
    """Open ``path``; a failure inside leaves ``<name>.png`` and ``<name>.txt`` for its diagnosis."""
    browser.get(demo.url + path)
    try:
        yield
    except Exception as exc:
        shot, text = demo.folder / f"{name}.png", demo.folder / f"{name}.txt"
        browser.save_screenshot(str(shot))
        with contextlib.suppress(Exception):
            text.write_text(browser.find_element("tag name", "body").text)
        raise AssertionError(f"{path}: {exc}\n(screenshot {shot}, page text {text})") from exc


def wait_until(browser, what: str, found: Callable) -> object:  # noqa: ANN001
    """``found(browser)``'s first truthy value within WAIT_S seconds, else a failure naming ``what``."""
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(browser, WAIT_S, ignored_exceptions=(StaleElementReferenceException,)
                             ).until(found)
    except TimeoutException:
        raise AssertionError(f"not shown within {WAIT_S} s: {what}") from None


def body(browser) -> str:  # noqa: ANN001
    return browser.find_element("tag name", "body").text


def texts(browser, css: str) -> list[str]:  # noqa: ANN001
    return [e.text.strip() for e in browser.find_elements("css selector", css)]


# The UI's CSS-module class names keep the component's name as their prefix.
ASSET_NAME = "[class*=AssetNode_assetName]"
COLLAPSED_GROUP = "[class*=CollapsedGroupNode_collapsedGroupNodeBox]"


def _groups(browser) -> dict[str, int]:  # noqa: ANN001
    """Collapsed group nodes of the graph: name -> number of assets (its first number, shown
    under the name as "10 assets (fetching statuses)" and then as "10" with status counts)."""
    found = {}
    for text in texts(browser, COLLAPSED_GROUP):
        name, _, rest = text.partition("\n")
        count = re.match(r"\d+", rest)
        if count:
            found[name] = int(count.group())
    return found


def test_global_asset_graph_and_report_lineage_show_the_tables(browser, demo: Demo) -> None:
    from migration_assets.defs.full_load.report import REPORT

    with page(browser, demo, "/asset-groups", "global_graph"):
        # Collapsed groups: the target's tables (named for the database) and the report's.
        wanted = {demo.group, "verification"}
        counts = wait_until(browser, f"the groups {sorted(wanted)} of the global asset graph",
                            lambda b: _groups(b) if wanted <= _groups(b).keys() else None)
        assert counts[demo.group] == len(demo.tables), counts
        assert counts["verification"] == 1, counts

    report = "/".join(REPORT.path)
    with page(browser, demo, f"/assets/{report}?view=lineage&lineageScope=upstream&lineageDepth=10",
              "report_lineage"):
        names = wait_until(browser, f"every table upstream of {report}",
                           lambda b: texts(b, ASSET_NAME) if set(demo.tables) <= set(texts(b, ASSET_NAME))
                           else None)
        # Zoomed out to fit, a long name is cut in its middle ("verificati…_report").
        short = REPORT.path[-1]
        assert any(n == short or (n[:5] == short[:5] and n[-5:] == short[-5:]) for n in names), names
        assert "snapshot" in names, names  # the load's consistent snapshot feeds every table


def test_a_tables_checks_are_listed_by_their_names_in_the_code(browser, demo: Demo) -> None:
    from migration_assets.defs.full_load.assets import CHECKSUM_CHECK, ROW_COUNT_CHECK
    from migration_assets.defs.full_load.report import ALL_TABLES_MATCH, REPORT

    key = next(k for k in demo.table_keys if k.endswith("/orders"))
    with page(browser, demo, f"/assets/{key}?view=checks", "table_checks"):
        wait_until(browser, f"the checks {ROW_COUNT_CHECK} and {CHECKSUM_CHECK} of {key}, passed",
                   lambda b: all(n in body(b)
                                 for n in (ROW_COUNT_CHECK, CHECKSUM_CHECK, "Checks (2)", "Passed")))
    report = "/".join(REPORT.path)
    with page(browser, demo, f"/assets/{report}?view=checks", "report_checks"):
        wait_until(browser, f"the check {ALL_TABLES_MATCH} of {report}",
                   lambda b: ALL_TABLES_MATCH in body(b))


def _row_of(browser, run_id: str) -> str | None:  # noqa: ANN001
    """The text of the runs list's row that links to the run, or None while there is none."""
    rows = browser.find_elements("xpath", f"//a[@href='/runs/{run_id}']/ancestor::*"
                                          "[contains(@class, 'RunsFeedRow_rowGrid')][1]")
    return rows[0].text if rows else None


def test_the_run_is_listed_with_success_on_runs_job_and_overview(browser, demo: Demo) -> None:
    with page(browser, demo, "/runs", "runs"):
        row = wait_until(browser, f"run {demo.run_id[:8]} on the Runs page",
                         lambda b: _row_of(b, demo.run_id))
        assert "full_migration" in row and "Success" in row, row

    # Only a run that carries the workspace's code location is listed here.
    with page(browser, demo, f"/locations/{LOCATION}/jobs/full_migration/runs", "job_runs"):
        row = wait_until(browser, f"run {demo.run_id[:8]} on the runs page of job full_migration",
                         lambda b: _row_of(b, demo.run_id))
        assert "Success" in row, row

    with page(browser, demo, "/overview/activity/timeline", "overview"):
        wait_until(browser, f"full_migration under {LOCATION} on the Overview timeline",
                   lambda b: "full_migration" in body(b).partition(LOCATION)[2])

"""The web console in a real browser (Debian's Chromium, headless, driven by Playwright):
browse, add, edit and delete items, the live change flow after a boto3 PutItem, signing in
under ``--auth enforce``; plus ``--no-console`` and ``--log-format json``.

Set ``TIDESTREAM_SCREENSHOTS=DIR`` to save the screenshots docs/console.md shows.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config as BotoConfig

from tests.conftest import make_table, start_on_test_store, start_server
from tests.e2e.cdc_helpers import setup_cdc

CONSOLE = "/_tidestream/console"
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


def _chromium() -> str | None:
    for candidate in (os.environ.get("TIDESTREAM_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, launched by Playwright (never a downloaded browser); Playwright gives
    each launch a fresh temporary profile (its own --user-data-dir)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the 'test' extra")
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium on this machine: `apt-get install -y chromium` (.ci/run does this)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=BROWSER_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 720})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors in the console: {errors}"


def _screenshot(page, name: str) -> None:
    target = os.environ.get("TIDESTREAM_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / f"{name}.png"))


def _item_json(page) -> dict:
    return json.loads(page.input_value("#item-json"))


# ------------------------------------------------------------------------------ browse / edit


def test_browse_add_edit_delete_items(srv, page):
    ddb = srv.client("dynamodb")
    make_table(ddb, "orders", range_key="sk")
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "qty": {"N": "3"}})
    page.goto(srv.endpoint + CONSOLE)
    page.click("tr[data-table=orders] a")
    page.wait_for_selector("tr.item-row")
    assert page.inner_text("#results").count('"a"') == 1
    _screenshot(page, "console-table")

    page.click("#add-item")
    page.fill("#item-json", '{"pk": {"S": "b"}, "sk": {"S": "2"}, "note": {"S": "new"}}')
    page.click("#save-item")
    page.wait_for_selector("tr.item-row:has-text('new')")
    assert ddb.get_item(TableName="orders", Key={"pk": {"S": "b"}, "sk": {"S": "2"}})["Item"]["note"] == {
        "S": "new"
    }

    page.click("tr.item-row:has-text('new')")
    item = _item_json(page)
    item["note"] = {"S": "edited"}
    page.fill("#item-json", json.dumps(item, indent=2))
    _screenshot(page, "console-edit")
    page.click("#save-item")
    page.wait_for_selector("tr.item-row:has-text('edited')")
    assert ddb.get_item(TableName="orders", Key={"pk": {"S": "b"}, "sk": {"S": "2"}})["Item"]["note"] == {
        "S": "edited"
    }

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("tr.item-row:has-text('edited')")
    page.click("#delete-item")
    page.wait_for_selector("tr.item-row:has-text('edited')", state="detached")
    assert "Item" not in ddb.get_item(TableName="orders", Key={"pk": {"S": "b"}, "sk": {"S": "2"}})
    assert ddb.scan(TableName="orders")["Count"] == 1


def test_item_values_are_shown_as_text_never_run(srv, page):
    ddb = srv.client("dynamodb")
    make_table(ddb, "orders")
    payload = "<img src=x onerror=window.injected=1>"
    ddb.put_item(TableName="orders", Item={"pk": {"S": payload}, "note": {"S": "<b>bold</b>"}})
    page.goto(srv.endpoint + CONSOLE + "#/table/orders")
    row = page.wait_for_selector("tr.item-row")
    assert payload in row.inner_text() and "<b>bold</b>" in row.inner_text()
    assert page.locator("#results img, #results b").count() == 0
    assert page.evaluate("window.injected") is None


def test_invalid_items_are_refused_before_anything_is_written(srv, page):
    ddb = srv.client("dynamodb")
    make_table(ddb, "orders")
    page.goto(srv.endpoint + CONSOLE + "#/table/orders")
    page.click("#add-item")
    for text, problem in (
        ('{"pk": {"S": "x"', "Not valid JSON"),
        ('{"pk": "x"}', 'Attribute "pk" must be one typed value'),
        ('{"other": {"S": "x"}}', 'key attribute "pk" is missing'),
        ('{"pk": {"N": "1"}}', "must be of type S"),
        ('{"pk": {"S": "x"}, "n": {"N": "not a number"}}', "ValidationException"),
    ):
        page.fill("#item-json", text)
        page.click("#save-item")
        page.wait_for_selector(f"#item-message:has-text('{problem}')")
    assert ddb.scan(TableName="orders")["Count"] == 0


def test_query_and_paging(srv, page):
    ddb = srv.client("dynamodb")
    make_table(ddb, "events", range_key="sk")
    for n in range(30):
        ddb.put_item(TableName="events", Item={"pk": {"S": "p" if n < 28 else "q"}, "sk": {"S": f"{n:03d}"}})
    page.goto(srv.endpoint + CONSOLE + "#/table/events")
    page.wait_for_selector("text=page 1, 25 items")
    page.click("#next-page")
    page.wait_for_selector("text=page 2, 5 items")
    page.select_option("#mode", "Query")
    page.fill("#partition-value", "p")
    page.select_option("#sort-op", "begins_with")
    page.fill("#sort-value", "01")
    page.click("#run")
    page.wait_for_selector("text=page 1, 10 items")
    assert page.locator("tr.item-row").count() == 10


def test_streams_show_shards_and_lineage(srv, page):
    kin = srv.client("kinesis")
    kin.create_stream(StreamName="clicks", ShardCount=2)
    shards = kin.list_shards(StreamName="clicks")["Shards"]
    kin.split_shard(
        StreamName="clicks",
        ShardToSplit=shards[0]["ShardId"],
        NewStartingHashKey=str(int(shards[0]["HashKeyRange"]["EndingHashKey"]) // 2),
    )
    page.goto(srv.endpoint + CONSOLE + "#/streams")
    page.click("tr[data-stream=clicks] a")
    page.wait_for_selector("tr[data-shard]")
    assert page.locator("tr[data-shard]").count() == 4
    parent = shards[0]["ShardId"]
    assert page.locator(f"tr[data-shard={parent}]").inner_text().split("\t")[1] == "closed"
    # the parent's own row, and its two children's rows naming it as their parent
    assert page.locator(f"tr[data-shard]:has(td:text-is('{parent}'))").count() == 3
    _screenshot(page, "console-stream")


def test_per_shard_throughput_counts_what_was_written(srv, page):
    kin = srv.client("kinesis")
    kin.create_stream(StreamName="clicks", ShardCount=2)
    shards = [s["ShardId"] for s in kin.list_shards(StreamName="clicks")["Shards"]]
    page.goto(srv.endpoint + CONSOLE + "#/stream/clicks")
    page.click("#measure-throughput")
    page.wait_for_selector("#throughput-status")
    low_hash_key = "1"  # shard 0 holds the low half of the hash key range
    for _ in range(20):
        kin.put_record(StreamName="clicks", PartitionKey="k", ExplicitHashKey=low_hash_key, Data=b"x" * 100)
    page.wait_for_selector("tr[data-throughput]", timeout=30_000)
    assert page.inner_text(f"tr[data-throughput='{shards[0]}'] .records") == "20"
    assert page.inner_text(f"tr[data-throughput='{shards[1]}'] .records") == "0"


def test_lease_table_shows_owners_checkpoints_and_lag(srv, page):
    """A KCL lease table (rows in KCL's schema, as Java KCL or `tidestream consume` write them)."""
    ddb, kin = srv.client("dynamodb"), srv.client("kinesis")
    kin.create_stream(StreamName="clicks", ShardCount=1)
    shard = kin.list_shards(StreamName="clicks")["Shards"][0]["ShardId"]
    sequences = [
        kin.put_record(StreamName="clicks", PartitionKey="k", Data=b"x")["SequenceNumber"] for _ in range(3)
    ]
    make_table(ddb, "click-app", hash_key="leaseKey")
    ddb.put_item(
        TableName="click-app",
        Item={
            "leaseKey": {"S": shard},
            "leaseOwner": {"S": "worker-1"},
            "leaseCounter": {"N": "7"},
            "checkpoint": {"S": sequences[0]},
            "ownerSwitchesSinceCheckpoint": {"N": "0"},
        },
    )
    ddb.put_item(
        TableName="click-app",
        Item={
            "leaseKey": {"S": "shardId-000000000099"},
            "leaseCounter": {"N": "1"},
            "checkpoint": {"S": "TRIM_HORIZON"},
        },
    )
    page.goto(srv.endpoint + CONSOLE + "#/table/click-app")
    assert "worker-1" in page.inner_text(f"tr[data-lease='{shard}']")
    page.select_option("#lease-stream", "clicks")
    page.click("#measure-lag")
    page.wait_for_selector("tr[data-lease='shardId-000000000099'] .lease-lag:has-text('no checkpoint yet')")
    # the rows are measured one after the other, in the lease table's scan order
    page.wait_for_selector(f"tr[data-lease='{shard}'] .lease-lag:not(:empty)")
    lag = page.inner_text(f"tr[data-lease='{shard}'] .lease-lag")
    assert lag.isdigit(), lag  # records after the checkpoint: a number of ms, not "caught up"


# ------------------------------------------------------------------------------ live flow


def _watch_flow(page, srv, table: str) -> None:
    page.goto(srv.endpoint + CONSOLE + "#/flow/" + table)
    page.wait_for_selector("#flow-status:has-text('watching')")


def test_live_flow_shows_changes_after_boto3_writes(srv, page):
    ddb, _kin, _arn = setup_cdc(srv, table="orders", stream="changes", shards=2)
    _watch_flow(page, srv, "orders")
    ddb.put_item(TableName="orders", Item={"pk": {"S": "o-1"}, "status": {"S": "new"}})
    insert = page.wait_for_selector("tr.flow-record[data-event=INSERT]")
    assert '"o-1"' in insert.inner_text() and '+ status: "new"' in insert.inner_text()
    ddb.put_item(TableName="orders", Item={"pk": {"S": "o-1"}, "status": {"S": "paid"}})
    modify = page.wait_for_selector("tr.flow-record[data-event=MODIFY]")
    assert '~ status: "new" → "paid"' in modify.inner_text()
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "o-1"}})
    page.wait_for_selector("tr.flow-record[data-event=REMOVE]")
    page.wait_for_function("Number(document.querySelector('#seen').textContent) === 3")
    assert page.inner_text("#outbox-depth").isdigit()
    assert page.locator("#flow-chart .uplot").count() == 1, "no chart: run `npm ci` in console/"
    if os.environ.get("TIDESTREAM_SCREENSHOTS"):  # some traffic for the chart in the docs
        for n in range(40):
            ddb.put_item(TableName="orders", Item={"pk": {"S": f"o-{n % 7}"}, "n": {"N": str(n)}})
            page.wait_for_timeout(60)
        page.wait_for_timeout(1500)
        _screenshot(page, "console-flow")


def test_live_flow_resumes_after_its_iterators_expire(srv, page):
    """A tab hidden for over 5 minutes holds expired iterators: the page takes new ones right
    after the last record it showed. (The expiry answer is injected into the page's traffic.)"""
    ddb, _kin, _arn = setup_cdc(srv, table="orders", stream="changes", shards=1)
    _watch_flow(page, srv, "orders")
    ddb.put_item(TableName="orders", Item={"pk": {"S": "before"}})
    page.wait_for_selector("tr.flow-record:has-text('before')")
    expired = []

    def expire_once(route):
        if route.request.headers.get("x-amz-target", "").endswith(".GetRecords") and not expired:
            expired.append(route.request)
            return route.fulfill(
                status=400,
                content_type="application/x-amz-json-1.1",
                body=json.dumps({"__type": "ExpiredIteratorException", "message": "Iterator expired."}),
            )
        return route.continue_()

    page.route(srv.endpoint + "/", expire_once)
    while not expired:
        page.wait_for_timeout(50)
    ddb.put_item(TableName="orders", Item={"pk": {"S": "after"}})
    page.wait_for_selector("tr.flow-record:has-text('after')")
    assert expired and page.locator("tr.flow-record").count() == 2
    assert page.is_hidden("#error")


def test_live_flow_without_the_chart_asset(srv, page):
    """A machine without npm: the chart library is absent; the console says so and still flows."""
    ddb, _kin, _arn = setup_cdc(srv, table="orders", stream="changes", shards=1)
    page.route("**/vendor/**", lambda route: route.fulfill(status=404, body="not installed"))
    _watch_flow(page, srv, "orders")
    assert "uPlot" in page.inner_text("#chart-missing")
    ddb.put_item(TableName="orders", Item={"pk": {"S": "o-2"}})
    page.wait_for_selector("tr.flow-record[data-event=INSERT]:has-text('o-2')")


def test_flow_of_a_table_without_destination_says_how_to_get_one(srv, page):
    make_table(srv.client("dynamodb"), "plain")
    page.goto(srv.endpoint + CONSOLE + "#/flow/plain")
    assert "EnableKinesisStreamingDestination" in page.inner_text("#no-destination")


# ------------------------------------------------------------------------------ auth enforce

KEY, SECRET, ACCOUNT = "AKIACONSOLE000000001", "console-secret-key", "222233334444"


@pytest.fixture(scope="module")
def enforcing(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("console-auth")
    creds = tmp / "credentials"
    creds.write_text(f"{KEY} {SECRET} {ACCOUNT}\n")
    server = start_on_test_store(
        request, tmp, "--auth", "enforce", "--credentials", str(creds), on_disk=False
    )
    yield server
    server.stop()


def _signed_client(server, service: str = "dynamodb"):
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        config=BotoConfig(retries={"max_attempts": 1}),
    )


def test_auth_enforce_needs_credentials_in_the_console(enforcing, page):
    ddb = _signed_client(enforcing)
    make_table(ddb, "secrets")
    ddb.put_item(TableName="secrets", Item={"pk": {"S": "s-1"}})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(enforcing.endpoint + CONSOLE + "/api/cdc", timeout=5)
    assert refused.value.code == 403

    page.goto(enforcing.endpoint + CONSOLE)
    page.wait_for_selector("form#login")
    assert "secrets" not in page.inner_text("main")
    page.fill("input[name=accessKey]", KEY)
    page.fill("input[name=secretKey]", "wrong-secret")
    page.click("form#login button")
    page.wait_for_selector("form#login >> text=InvalidSignatureException")
    _screenshot(page, "console-login")

    assert page.input_value("input[name=accessKey]") == KEY  # kept; the secret is not
    assert page.input_value("input[name=secretKey]") == ""
    page.fill("input[name=secretKey]", SECRET)
    page.click("form#login button")
    page.click("tr[data-table=secrets] a")
    assert "signed as " + KEY in page.inner_text("#who")

    page.goto(enforcing.endpoint + CONSOLE + "#/table/secrets")  # a new tab: sign in again,
    page.evaluate("sessionStorage.clear()")  # then land on the page asked for
    page.reload()
    page.fill("input[name=accessKey]", KEY)
    page.fill("input[name=secretKey]", SECRET)
    page.click("form#login button")
    page.click("tr.item-row:has-text('s-1')")
    item = _item_json(page)
    item["seen"] = {"BOOL": True}
    page.fill("#item-json", json.dumps(item))
    page.click("#save-item")
    page.wait_for_selector("tr.item-row:has-text('seen')")
    assert ddb.get_item(TableName="secrets", Key={"pk": {"S": "s-1"}})["Item"]["seen"] == {"BOOL": True}

    page.click("#sign-out")
    page.wait_for_selector("form#login")


# ------------------------------------------------------------------------------ flags


def test_no_console_flag_turns_the_console_off(tmp_path):
    server = start_server(tmp_path, "--no-console", on_disk=False)
    try:
        for path in (CONSOLE, CONSOLE + "/console.js", CONSOLE + "/api/cdc"):
            with pytest.raises(urllib.error.HTTPError) as missing:
                urllib.request.urlopen(server.endpoint + path, timeout=5)
            assert missing.value.code == 404
    finally:
        server.stop()


def test_console_pages_forbid_framing_and_foreign_scripts(srv):
    with urllib.request.urlopen(srv.endpoint + CONSOLE, timeout=5) as response:
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert response.headers["Content-Type"].startswith("text/html")


def test_log_format_json_writes_one_object_per_line(tmp_path):
    server = start_server(tmp_path, "--log-format", "json", on_disk=False)
    assert server.stop() == 0
    lines = [json.loads(line) for line in server.read_log().splitlines() if line.strip()]
    messages = [entry["message"] for entry in lines]
    assert any(m.startswith("tidestream listening on http://") for m in messages), messages
    assert all(entry["level"] in ("INFO", "WARNING") and entry["time"].endswith("Z") for entry in lines)

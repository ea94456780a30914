"""Read cost of the Signals inbox on DynamoDB, per day and per month, at the expected table size.

The bot reads the inbox two ways (``DynamoStore.inbox``): every poll, a Query of the ``by_status``
index for ``new`` and ``accepted`` rows (cheap: only those rows); every ``--scan-seconds``, a
filtered Scan of the whole table for rows another system wrote without a status (they are in no
index). A Scan is billed for every item it reads, matching or not, so its cost is the table's
size; finished rows expire ``storage.signal_retention_days`` after the bot finished them
(DynamoDB TTL, which deletes expired items within a few days), which bounds that size.

This script fills a Signals table on a local dynalite server with the rows the bot would hold:
``--signals-per-day`` finished rows for ``--retention-days`` plus ``--ttl-lag-days`` (items TTL has
not deleted yet), each the size the bot leaves them (outcome, reason, processed_at, expiry), and
a few new ones. It then runs the store's own reads and adds up the read capacity the server
reports (``ReturnConsumedCapacity``), counting each request as at least 0.5 read request unit
(RRU), as DynamoDB bills an eventually consistent read. The price is on-demand us-east-1
(``--usd-per-million-rru``, deploy/README.md). Also printed: the same without the TTL after a
year, to show why the TTL is there.

Run: ``.venv/bin/python benchmarks/inbox_cost.py`` (needs ``make tools`` for dynalite).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage.dynamodb import DynamoStore  # noqa: E402
from storage.init_db import init_db  # noqa: E402
from tests.fixtures_dynamo import DUMMY_AWS_ENV, DYNALITE, DynaliteServer, dynamo_settings  # noqa: E402

T0 = 1_783_684_800_000
DAY_S = 86_400


class Meter:
    """Adds up the read capacity the server reports for the store's Query and Scan calls."""

    def __init__(self, client):
        self.rru = 0.0
        self.requests = 0
        for op in ("Query", "Scan"):
            client.meta.events.register(f"provide-client-params.dynamodb.{op}", self._ask)
            client.meta.events.register(f"after-call.dynamodb.{op}", self._count)

    def _ask(self, params, **_):
        params["ReturnConsumedCapacity"] = "TOTAL"

    def _count(self, parsed, **_):
        used = (parsed.get("ConsumedCapacity") or {}).get("CapacityUnits", 0.0)
        self.rru += max(float(used), 0.5)  # DynamoDB bills at least 0.5 RRU per eventually consistent read
        self.requests += 1

    def measure(self, read) -> tuple[float, int]:
        self.rru, self.requests = 0.0, 0
        read()
        return self.rru, self.requests


def finished_row(i: int) -> dict:
    ts = T0 - i * 60_000
    return {
        "signal_id": {"S": f"tv-{ts}-{i:06d}"},
        "timestamp": {"N": str(ts)},
        "symbol": {"S": "BTC/USDT"},
        "action": {"S": "buy" if i % 2 else "sell"},
        "source": {"S": "tradingview"},
        "amount": {"N": "0.001"},
        "status": {"S": "executed"},
        "outcome": {"S": "db-5c0f8a1e2b3d4c6f18bcfe56800"},
        "reason": {"S": "buy 0.001 BTC/USDT @ 58720.45"},
        "processed_at": {"N": str(ts + 900)},
        "expiry": {"N": str(ts // 1000 + 7 * DAY_S)},
    }


def fill(store: DynamoStore, rows: int, new_rows: int) -> None:
    client, table = store._client, store.tables["signals"]
    batch = []
    for i in range(rows):
        batch.append({"PutRequest": {"Item": finished_row(i)}})
        if len(batch) == 25:
            client.batch_write_item(RequestItems={table: batch})
            batch = []
    if batch:
        client.batch_write_item(RequestItems={table: batch})
    for i in range(new_rows):  # one without a status, the rest with "new"
        item = {
            k: v
            for k, v in finished_row(10**6 + i).items()
            if k not in ("status", "outcome", "reason", "processed_at", "expiry")
        }
        if i:
            item["status"] = {"S": "new"}
        client.put_item(TableName=table, Item=item)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--signals-per-day", type=int, default=200)
    ap.add_argument("--retention-days", type=float, default=7.0, help="storage.signal_retention_days")
    ap.add_argument("--ttl-lag-days", type=float, default=2.0, help="expired rows TTL has not deleted yet")
    ap.add_argument("--poll-seconds", type=float, default=5.0)
    ap.add_argument("--scan-seconds", type=float, default=60.0, help="daybreak.drivers.inbox.SCAN_SECONDS")
    ap.add_argument("--usd-per-million-rru", type=float, default=0.125)
    args = ap.parse_args()
    if not DYNALITE.exists():
        print(f"skipped: {DYNALITE} is missing (make tools)")
        return 0
    os.environ.update(DUMMY_AWS_ENV)
    server = DynaliteServer(Path(tempfile.mkdtemp(prefix="inbox-cost-"))).start()
    try:
        cases = [
            ("expected (with TTL)", args.signals_per_day * (args.retention_days + args.ttl_lag_days)),
            ("no TTL, after a year", args.signals_per_day * 365),
        ]
        polls, scans = DAY_S / args.poll_seconds, DAY_S / args.scan_seconds
        print(
            f"{args.signals_per_day} signals/day, poll every {args.poll_seconds:g} s, scan every "
            f"{args.scan_seconds:g} s, ${args.usd_per_million_rru} per million RRU"
        )
        print(f"{'table':<24}{'rows':>8}{'query RRU':>11}{'scan RRU':>10}{'RRU/day':>12}{'$/month':>9}")
        for name, rows in cases:
            settings = dynamo_settings(server.endpoint_url)
            init_db(settings)
            store = DynamoStore.from_settings(settings)
            fill(store, int(rows), 3)
            meter = Meter(store._client)
            query_rru, _ = meter.measure(lambda: store.inbox(scan=False))
            scan_rru, _ = meter.measure(lambda: store.inbox(scan=True))
            scan_only = scan_rru - query_rru
            per_day = polls * query_rru + scans * scan_only
            month = per_day * 30.4 / 1e6 * args.usd_per_million_rru
            print(f"{name:<24}{int(rows):>8,}{query_rru:>11.1f}{scan_only:>10.1f}{per_day:>12,.0f}{month:>9.2f}")
            store.close()
        print("budget: the whole stack must stay under $10/month (deploy/README.md)")
    finally:
        server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())

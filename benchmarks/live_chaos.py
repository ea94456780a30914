"""Live fault-injection soak: the bot (``bot.py run``, live mode, real ccxt) against the fake
Binance.US for some minutes of real time, with 429/418 storms, 5xx answers, resets, timeouts,
replies lost after execution, expired and partial market fills, outages, external signals,
flattens, and SIGKILL of the bot at random moments (it is restarted each time), on SQLite and on
dynalite. At the end the bot flattens, and the store is reconciled with the fake's own ledger
(tests/live_helpers.assert_reconciled): no order sent twice, no exchange order unknown to the
store, no stored trade the exchange never executed, balances that agree.

The deterministic versions run in the test suite (tests/test_live_crash.py: a kill at every
step of an order; tests/test_live_chaos.py: a seeded fault storm). This one runs longer and at
random; it prints what happened and exits 1 if the books and the exchange disagree.

Run: ``.venv/bin/python benchmarks/live_chaos.py [--minutes 3] [--backend sqlite|dynalite|both] [--seed 1]``
(dynalite needs ``make tools``).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from daybreak.core.domain import new_control  # noqa: E402
from daybreak.ops.config_file import load_config  # noqa: E402
from storage import open_store  # noqa: E402
from storage.records import SignalRecord  # noqa: E402
from tests.fakes.fake_binance import FakeBinance  # noqa: E402
from tests.fixtures_dynamo import (  # noqa: E402
    DUMMY_AWS_ENV,
    DynaliteServer,
    dynamo_settings,
    open_dynamo,
)
from tests.fixtures_exchange import sample_candles  # noqa: E402
from tests.helpers import write_config  # noqa: E402
from tests.live_helpers import assert_reconciled  # noqa: E402

SYMBOLS = ["BTC/USDT", "ETH/USDT"]


def fault(fake: FakeBinance, rng: random.Random, tally: Counter) -> None:
    kind = rng.choice(
        ["429", "418", "503", "reset", "lost_reply", "timeout", "expired", "partial", "dropped", "none", "none", "none"]
    )
    tally[kind] += 1
    if kind == "429":
        fake.rate_limit(count=rng.randint(1, 4), retry_after=1)
    elif kind in ("418", "503", "reset"):
        fake.go_down(kind, after=rng.randint(0, 5), count=rng.randint(1, 3))
    elif kind == "lost_reply":
        fake.lose_next_reply()
    elif kind == "timeout":
        fake.timeout_next_order(12.0)
    elif kind == "expired":
        fake.expire_next_market_order()
    elif kind == "partial":
        fake.partial_fill_next("0.5")
    elif kind == "dropped":
        fake.drop_next_order()


def soak(backend: str, minutes: float, seed: int) -> bool:
    rng, tally = random.Random(seed), Counter()
    tmp = Path(tempfile.mkdtemp(prefix=f"daybreak-chaos-{backend}-"))
    server = None
    if backend == "sqlite":
        storage = {"backend": "sqlite", "path": str(tmp / "daybreak.db")}
    else:
        os.environ.update(DUMMY_AWS_ENV)
        server = DynaliteServer(tmp / "dynalite").start()
        settings = dynamo_settings(server.endpoint_url)
        open_dynamo(settings).close()
        storage = {
            "backend": "dynamodb",
            "endpoint_url": settings.endpoint_url,
            "table_prefix": settings.table_prefix,
            "region": settings.region,
        }
    fake = FakeBinance()
    now = int(time.time() * 1000) // 60_000 * 60_000
    for symbol in SYMBOLS:
        frame = sample_candles(symbol)
        fake.add_candles(
            symbol, "1m", frame.assign(timestamp=frame["timestamp"] + now - int(frame["timestamp"].iat[1500]))
        )
    cfg = write_config(
        tmp,
        mode="live",
        symbols=SYMBOLS,
        order_size={"BTC/USDT": {"amount": 0.001}, "ETH/USDT": {"amount": 0.03}},
        algos={"MA_Crossover": True},
        params={"MA_Crossover": {"short_period": 3, "long_period": 8}},
        external_signals=True,
        risk={"time_stop_seconds": 60, "stop_loss_ratio": 0.004},
        poll_seconds=0.5,
        account_sync_seconds=10,
        storage=storage,
    )
    env = dict(
        os.environ,
        DAYBREAK_LIVE_CONFIRM="yes",
        DAYBREAK_API_KEY=fake.api_key,
        DAYBREAK_API_SECRET=fake.secret,
        PYTHONUNBUFFERED="1",
    )
    store = open_store(load_config(cfg).storage)
    kills = 0
    with fake:
        fake.follow_wall_clock()
        env["DAYBREAK_EXCHANGE_URL"] = fake.url
        deadline = time.monotonic() + minutes * 60

        def start():
            return subprocess.Popen(
                [sys.executable, str(ROOT / "bot.py"), "run", "--config", str(cfg)],
                cwd=tmp,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        resume_at = 0.0
        while time.monotonic() < deadline:
            child, life = start(), time.monotonic() + rng.uniform(10, 40)
            while time.monotonic() < min(life, deadline):
                time.sleep(rng.uniform(0.2, 1.5))
                if rng.random() < 0.3:
                    fault(fake, rng, tally)
                if rng.random() < 0.6:
                    store.put_signal(
                        SignalRecord(
                            f"chaos-{rng.getrandbits(48):x}",
                            fake.now(),
                            rng.choice(SYMBOLS),
                            rng.choice(["buy", "sell"]),
                            "chaos",
                        )
                    )
                if rng.random() < 0.02:  # a flatten (it pauses entries), resumed a little later
                    store.put_control(new_control("flatten", "chaos", int(time.time() * 1000)))
                    resume_at = time.monotonic() + rng.uniform(2, 8)
                if resume_at and time.monotonic() > resume_at:
                    store.put_control(new_control("resume", "chaos", int(time.time() * 1000)))
                    resume_at = 0.0
            child.send_signal(signal.SIGKILL if rng.random() < 0.8 else signal.SIGTERM)
            child.wait()
            kills += child.returncode == -signal.SIGKILL
            fake.come_back()
        child = start()  # the end: a clean bot flattens and settles
        store.put_control(new_control("resume", "end", int(time.time() * 1000)))
        store.put_control(new_control("flatten", "end", int(time.time() * 1000)))
        settle = time.monotonic() + 90
        while time.monotonic() < settle and (store.list_orders(open_only=True) or store.list_positions()):
            time.sleep(0.5)
        child.send_signal(signal.SIGTERM)
        child.wait()
        orders = Counter(r.status.value for r in store.list_orders(limit=100_000))
        rules = Counter(e.rule for e in store.list_events(limit=100_000))
        rules.update(f"signal {r.status}: {r.reason.split(':')[0][:40]}" for r in store.list_signals())
        print(f"{backend}: {minutes:g} min, {kills} SIGKILLs, faults {dict(tally)}")
        print(f"  exchange fills {len(fake.ledger())}, stored trades {len(store.list_trades())}, orders {dict(orders)}")
        print(f"  events {dict(rules)}")
        ok = True
        try:
            assert not store.list_orders(open_only=True) and not store.list_positions(), "not settled"
            for symbol in SYMBOLS:
                assert_reconciled(store, fake, symbol.partition("/")[0], symbol)
            print("  reconciled with the exchange's ledger: OK")
        except AssertionError as err:
            ok = False
            print(f"  RECONCILIATION FAILED: {err}")
    store.close()
    if server is not None:
        server.kill()
    return ok


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--backend", choices=["sqlite", "dynalite", "both"], default="both")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    backends = ["sqlite", "dynalite"] if args.backend == "both" else [args.backend]
    results = [soak(b, args.minutes, args.seed) for b in backends]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""One definition of dust (MarketLimits.is_dust) and the ledger's handling of it: a remainder that
cannot be sold stays as the symbol's dust, valued in equity, sold with a later exit, and the
P&L of the trades is the quote the fills moved."""

from __future__ import annotations

from dataclasses import replace

import pytest

from daybreak.core.domain import Action, ExitReason, Fill, Order, Trade
from daybreak.core.ledger import Ledger
from daybreak.core.markets import MarketLimits
from daybreak.reporting.result import round_trips

BTC = MarketLimits("BTC/USDT", amount_step=1e-5, price_tick=0.01, min_amount=1e-5, min_notional=1.0)


def _order(cid: str, action: Action, amount: float) -> Order:
    return Order(
        cid, "MA_Crossover", "BTC/USDT", action, amount, 0, None if action is Action.BUY else ExitReason.SIGNAL
    )


@pytest.mark.parametrize(
    "amount,price,dust",
    [
        (0.000009, None, True),  # below one step
        (0.0, None, True),
        (0.00001, None, False),  # one step = minQty
        (0.00001, 50_000.0, True),  # 0.5 USDT < minNotional 1
        (0.00002, 50_000.0, False),  # 1.0 USDT: exactly the minimum
        (0.0000199999, 60_000.0, True),  # rounds down to one step: 0.6 USDT
    ],
)
def test_dust_is_what_cannot_be_sold_on_its_own(amount, price, dust):
    assert BTC.is_dust(amount, price) is dust


def test_the_base_fee_remainder_becomes_dust_and_goes_with_the_next_exit():
    ledger = Ledger(1_000.0)
    # buy 0.001 at 50,000; the exchange keeps 0.000001 BTC as the fee: 0.000999 arrive
    ledger.open(Fill(_order("b1", Action.BUY, 0.001), 1, 50_000.0, 0.000999, 0.000001 * 50_000.0), "b1")
    t1 = ledger.close(
        Fill(_order("s1", Action.SELL, 0.00099), 2, 51_000.0, 0.00099, 0.00099 * 51_000.0 * 0.001),
        "s1",
        ExitReason.SIGNAL,
        BTC,
    )
    assert t1.pnl == pytest.approx(0.00099 * 51_000.0 * 0.999 - 0.001 * 50_000.0, abs=1e-12), (
        "P&L: the USDT the two fills moved"
    )
    assert ledger.positions == {} and ledger.dust == {"BTC/USDT": pytest.approx(0.000009, abs=1e-15)}
    assert ledger.equity({"BTC/USDT": 52_000.0}) == pytest.approx(ledger.cash + 0.000009 * 52_000.0)
    # the next round trip sells position + dust: 0.000999 + 0.000009 = 0.001008 -> 0.001 sellable
    ledger.open(Fill(_order("b2", Action.BUY, 0.001), 3, 50_000.0, 0.000999, 0.05), "b2")
    t2 = ledger.close(Fill(_order("s2", Action.SELL, 0.001), 4, 50_500.0, 0.001, 0.0505), "s2", ExitReason.SIGNAL, BTC)
    assert t2.amount == 0.001
    assert t2.pnl == pytest.approx(0.001 * 50_500.0 - 0.0505 - 0.001 * 50_000.0, abs=1e-12)
    assert ledger.dust["BTC/USDT"] == pytest.approx(0.000008, abs=1e-15)
    assert ledger.cash == pytest.approx(1_000.0 + t1.pnl + t2.pnl, abs=1e-9), "cash moved by exactly the P&L"
    # a restart rebuilds the dust from the trades: bought - sold - held
    restored = Ledger(1_000.0)
    restored.restore([_trade(t) for t in (_buy("b1", 0.000999), t1, _buy("b2", 0.000999), t2)], [])
    assert restored.dust["BTC/USDT"] == pytest.approx(0.000008, abs=1e-15)


def test_a_round_trip_closes_when_what_is_left_is_dust():
    buy = _buy("b1", 0.000999)
    sell = _trade(_buy("s1", 0.00099), action="sell", pnl=-0.5)
    (trip,) = round_trips([buy, sell], {"BTC/USDT": BTC}).to_dict("records")
    assert trip["amount"] == 0.000999 and trip["pnl"] == -0.5
    half = _trade(_buy("s2", 0.0005), action="sell", pnl=1.0)
    assert round_trips([buy, half], {"BTC/USDT": BTC}).empty, "0.000499 left is sellable: still open"


def _buy(cid: str, amount: float) -> Trade:
    return Trade(cid, 1, "BTC/USDT", Action.BUY, amount, 50_000.0, 0.05, "MA_Crossover", None, cid)


def _trade(t: Trade, **kw) -> Trade:
    return replace(t, **kw)


def test_a_sell_takes_the_whole_position_and_the_dust_when_what_it_leaves_is_dust():
    from daybreak.core.config import Config
    from daybreak.core.engine import Engine, ListSink, PaperBroker

    engine = Engine(Config(symbols=["BTC/USDT"]), {"BTC/USDT": BTC}, PaperBroker(0.001, 0.0), ListSink())
    engine.ledger.open(Fill(_order("b1", Action.BUY, 0.001), 1, 50_000.0, 0.000999, 0.05), "b1")
    engine.ledger.dust["BTC/USDT"] = 0.000009
    (pos,) = engine.ledger.positions.values()
    assert engine.sell_amount(pos, 0.000999, 50_000.0) == 0.001, "all of it, with the dust"
    assert engine.sell_amount(pos, 0.0005, 50_000.0) == 0.0005, "a partial exit leaving a sellable rest"
    assert engine.sell_amount(pos, 0.00099, 50_000.0) == 0.001, "the rest (0.000009) would be dust"
    assert engine.sell_amount(pos, 0.000005, 50_000.0) == 0.001, "the part itself is dust: sell all"
    pos.amount = 0.000005  # 0.000014 with the dust: 0.00001 sellable, 0.5 USDT < minNotional
    assert engine.sell_amount(pos, 0.000005, 50_000.0) == 0.0

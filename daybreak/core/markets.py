"""Market limits: the exchange's order filters for one symbol, and the checks built on them.

Binance (and Binance.US) publish three filters per spot symbol in ``GET /api/v3/exchangeInfo``
(https://developers.binance.com/docs/binance-spot-api-docs/filters):

* ``LOT_SIZE``: ``minQty``, ``maxQty``, ``stepSize`` on the order quantity (base currency);
  an order passes when ``minQty <= qty <= maxQty`` and ``(qty - minQty) % stepSize == 0``.
* ``PRICE_FILTER``: ``tickSize`` on prices (quote currency).
* ``NOTIONAL`` (since 2023) or its predecessor ``MIN_NOTIONAL``: ``minNotional``, the smallest
  ``qty * price`` (quote currency) an order may have; market orders are checked against the
  average price of the last ``avgPriceMins`` minutes.

:class:`MarketLimits` carries those numbers; live limits come from ccxt ``load_markets()``
(:func:`from_ccxt_markets`), offline ones from the bundled snapshot (:func:`load_snapshot`, see
``daybreak/data/README.md`` for where each number comes from), and :func:`default_limits` covers a
symbol missing from both. Step arithmetic follows :class:`~decimal.Decimal` on the shortest repr
of each float, so ``0.3`` with a step of ``0.1`` stays ``0.3``; :meth:`MarketLimits.round_amount`
takes a float shortcut where it provably gives the same result (:func:`_round_fast`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_EXCHANGE = "binanceus"

#: Fraction of one step that still counts as "on the step": absorbs float noise such as
#: ``0.0029999999999999996`` meaning ``0.003`` (ccxt would send the same digits).
_STEP_TOLERANCE = Decimal("1e-9")

# ccxt precision modes (ccxt.base.decimal_to_precision); duplicated as plain ints so this module
# does not import ccxt (backtests and replays load limits without it).
DECIMAL_PLACES = 2
TICK_SIZE = 4


def _dec(value: float) -> Decimal:
    """Exact decimal of the shortest repr of ``value`` (``0.1`` -> ``Decimal('0.1')``)."""
    return Decimal(repr(float(value)))


def _floor_to_step_decimal(amount: float, step: float) -> float:
    """The rule of :meth:`MarketLimits.round_amount` in Decimal (``amount`` > 0, ``step`` > 0)."""
    d_step = _dec(step)
    steps = (_dec(amount) / d_step + _STEP_TOLERANCE).to_integral_value(rounding=ROUND_FLOOR)
    return float(steps * d_step)


@lru_cache(maxsize=256)
def _step_parts(step: float) -> tuple[int, int]:
    """``(m, e)`` with ``_dec(step) == m * 10**e`` exactly (integers)."""
    _sign, digits, exponent = _dec(step).as_tuple()
    assert isinstance(exponent, int)  # a finite step (MarketLimits checks it)
    return int("".join(map(str, digits))), exponent


@lru_cache(maxsize=4096)
def _round_to_step(amount: float, step: float) -> float:
    """The Decimal rule of :meth:`MarketLimits.round_amount` (``amount``, ``step`` > 0, finite),
    by its float shortcut when that decides it; remembered, as sizes repeat (fixed order sizes,
    re-checks of rounded amounts, full sells)."""
    rounded = _round_fast(amount, step)
    return _floor_to_step_decimal(amount, step) if rounded is None else rounded


def _round_fast(amount: float, step: float) -> float | None:
    """The result of :func:`_floor_to_step_decimal` from float and integer arithmetic, or None
    when floats cannot decide it (then the caller uses Decimal).

    The Decimal rule is ``floor(A / S + 1e-9) * S`` for the decimals A, S of ``amount`` and
    ``step`` (their shortest reprs). Error bound: the float quotient ``q`` is within ``5e-16 q``
    of A / S (each of ``amount``, ``step`` is within half an ulp of its shortest repr, and the
    division rounds once); adding 1e-9 rounds once more, and Decimal's 28-digit rounding moves its
    sum by at most ``2e-27 (q + 1)``. So when ``x = q + 1e-9`` lies farther than ``1e-15 (q + 1)``
    from every integer, both floor to the same ``n``. With ``S = m * 10**e`` (integers), ``n * S``
    is then the exact integer ``n * m`` scaled by a power of ten, which Python rounds to float
    correctly (as ``float(Decimal)`` does) while ``n * m`` stays within Decimal's 28 digits.
    """
    if step < 1e-290:  # subnormal steps lose relative precision
        return None
    q = amount / step
    if not q < 1e15:
        return None
    x = q + 1e-9
    n = math.floor(x)
    margin = 1e-15 * (q + 1.0)
    if x - n <= margin or n + 1 - x <= margin:
        return None
    m, e = _step_parts(step)
    units = n * m
    if units >= 10**28:
        return None
    return float(units * 10**e) if e >= 0 else units / 10**-e


def fmt_number(value: float) -> str:
    """Plain decimal text without exponent or trailing zeros: ``1e-05`` -> ``'0.00001'``."""
    if not math.isfinite(value):
        return str(value)
    text = format(_dec(value).normalize(), "f")
    return text


@dataclass(frozen=True, slots=True)
class MarketLimits:
    """Order filters of one spot symbol.

    ``amount_step`` (LOT_SIZE ``stepSize``, base), ``price_tick`` (PRICE_FILTER ``tickSize``,
    quote), ``min_amount`` (LOT_SIZE ``minQty``, base), ``min_notional`` (NOTIONAL or MIN_NOTIONAL
    ``minNotional``, quote), ``max_amount`` (LOT_SIZE ``maxQty``, base; ``None``: no limit known),
    ``maker_fee`` / ``taker_fee`` (ccxt market ``maker`` / ``taker``, fractions of notional; None
    when not known, e.g. from the bundled snapshot).
    """

    symbol: str
    amount_step: float
    price_tick: float
    min_amount: float
    min_notional: float
    max_amount: float | None = None
    maker_fee: float | None = field(default=None, compare=False)
    taker_fee: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("amount_step", "price_tick", "min_amount", "min_notional"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"market {self.symbol}: {name} = {value!r}: must be a finite number >= 0")
        if self.max_amount is not None and (not math.isfinite(self.max_amount) or self.max_amount <= 0):
            raise ValueError(f"market {self.symbol}: max_amount = {self.max_amount!r}: must be > 0 or None")

    def round_amount(self, amount: float) -> float:
        """``amount`` (base) floored to a whole number of ``amount_step``; 0.0 for amount <= 0.

        Decimal arithmetic on the shortest float repr, with a tolerance of 1e-9 step for float
        noise: ``round_amount(0.0012345)`` with step 0.00001 is ``0.00123``; 0.3 with step 0.1
        is 0.3 (plain float division would give 2.9999999999999996 steps). NaN raises ValueError.
        """
        if not 0 < amount < math.inf:
            if math.isnan(amount):
                raise ValueError(f"market {self.symbol}: amount = nan: not a number")
            if amount <= 0:
                return 0.0
            raise ValueError(f"market {self.symbol}: amount = inf: not a finite number")
        if self.amount_step == 0:
            return float(amount)
        return _round_to_step(amount, self.amount_step)

    def floor_price(self, price: float) -> float:
        """``price`` (quote) rounded down to a whole number of ``price_tick`` (PRICE_FILTER
        ``tickSize``), with :meth:`round_amount`'s Decimal rule."""
        if self.price_tick == 0 or not 0 < price < math.inf:
            return float(price)
        return _round_to_step(price, self.price_tick)

    def ceil_price(self, price: float) -> float:
        """``price`` rounded up to the tick (already on the tick: unchanged)."""
        down = self.floor_price(price)
        if down >= price or self.price_tick == 0:
            return down
        return float(_dec(down) + _dec(self.price_tick))

    def is_dust(self, amount: float, price: float | None = None) -> bool:
        """Whether ``amount`` (base) cannot be sold on its own: rounded down to the step it is
        below LOT_SIZE ``minQty`` (or zero), or, with a ``price`` (quote), its notional is below
        ``minNotional``. The one definition of "position closed / dust": the engine sells a
        position whole when what a partial exit would leave is dust, the ledger closes a position
        whose remainder is dust and keeps that remainder as the symbol's dust, the report closes a
        round trip the same way."""
        if not amount > 0:
            return True
        sellable = self.round_amount(amount)
        if sellable <= 0 or sellable < self.min_amount:
            return True
        return price is not None and sellable * price < self.min_notional

    def sell_amount(self, held: float, wanted: float, price: float, dust: float = 0.0) -> float:
        """Base amount a sell of ``wanted`` from a position of ``held`` sends: rounded down to the
        step; the whole position plus the symbol's ``dust`` when what would be left, or the part
        itself, is dust (:meth:`is_dust`); 0.0 when nothing is sellable."""
        amount = self.round_amount(min(wanted, held))
        if self.is_dust(held - amount, price) or self.is_dust(amount, price):
            amount = self.round_amount(held + dust)
        return 0.0 if self.is_dust(amount, price) else amount

    def rejection(self, amount: float, price: float) -> str | None:
        """Why the exchange would refuse a market order of ``amount`` (base) at ``price`` (quote).

        ``None`` when LOT_SIZE and NOTIONAL pass. Otherwise one line naming the rule and the
        numbers, e.g. ``"amount 0.00001 below LOT_SIZE minQty 0.0001"`` or ``"notional 0.5 USDT
        (amount 0.00001 x price 50000) below NOTIONAL minNotional 1"``. Checks, in Binance's
        order: amount positive, ``minQty``, ``maxQty``, ``stepSize`` multiple, ``minNotional``.
        """
        if not math.isfinite(amount) or amount <= 0:
            return f"amount {fmt_number(amount)} must be a positive number"
        if not math.isfinite(price) or price <= 0:
            return f"price {fmt_number(price)} must be a positive number"
        if amount < self.min_amount:
            return f"amount {fmt_number(amount)} below LOT_SIZE minQty {fmt_number(self.min_amount)}"
        if self.max_amount is not None and amount > self.max_amount:
            return f"amount {fmt_number(amount)} above LOT_SIZE maxQty {fmt_number(self.max_amount)}"
        if self.amount_step > 0 and self.round_amount(amount) != amount:
            return (
                f"amount {fmt_number(amount)} not a multiple of LOT_SIZE stepSize "
                f"{fmt_number(self.amount_step)} (round it down to {fmt_number(self.round_amount(amount))})"
            )
        notional = amount * price
        if notional < self.min_notional:
            quote = self.symbol.partition("/")[2]
            return (
                f"notional {notional:.8g} {quote} (amount {fmt_number(amount)} x price {fmt_number(price)}) "
                f"below NOTIONAL minNotional {fmt_number(self.min_notional)}"
            )
        return None


def default_limits(symbol: str) -> MarketLimits:
    """Conservative limits for a symbol neither the exchange nor the snapshot describes.

    * ``amount_step`` and ``price_tick`` 1e-8: Binance's finest precision (``baseAssetPrecision``
      and ``quotePrecision`` are 8 for spot symbols); amounts are not coarsened by a guess.
    * ``min_amount`` 1e-8: one step.
    * ``min_notional`` 10 (quote): the highest minimum notional Binance has applied to USDT spot
      pairs (``MIN_NOTIONAL`` 10 USDT before 2023; 5 on Binance global and 1 on Binance.US since),
      so an order accepted here is not too small on either exchange.
    """
    return MarketLimits(symbol=symbol, amount_step=1e-8, price_tick=1e-8, min_amount=1e-8, min_notional=10.0)


def limits_for(limits: dict[str, MarketLimits], symbol: str) -> MarketLimits:
    """``limits[symbol]``, or :func:`default_limits` when the symbol is missing."""
    found = limits.get(symbol)
    return found if found is not None else default_limits(symbol)


def snapshot_path(exchange_id: str = DEFAULT_EXCHANGE) -> Path:
    """Bundled snapshot file for ``exchange_id``; the Binance.US one when there is none."""
    candidate = DATA_DIR / f"markets_{exchange_id}.json"
    return candidate if candidate.is_file() else DATA_DIR / f"markets_{DEFAULT_EXCHANGE}.json"


def load_snapshot(exchange_id: str = DEFAULT_EXCHANGE) -> dict[str, MarketLimits]:
    """Limits bundled with Daybreak, keyed by ccxt symbol (``"BTC/USDT"``).

    File format (``daybreak/data/markets_<exchange>.json``): ``{"symbols": {"BTC/USDT":
    {"amount_step": "0.00001", "price_tick": "0.01", "min_amount": "0.00001", "min_notional":
    "1", "max_amount": "9000", "source": "..."}}}``; numbers are decimal strings. An exchange
    without its own file gets the Binance.US snapshot (no KeyError). Symbols absent from the
    snapshot are not invented here: use :func:`limits_for` / :func:`default_limits`.
    The file is read once per process (it ships with the code); each call returns a new dict.
    """
    return dict(_read_snapshot(snapshot_path(exchange_id)))


@lru_cache(maxsize=8)
def _read_snapshot(path: Path) -> dict[str, MarketLimits]:
    data = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, MarketLimits] = {}
    for symbol, row in data["symbols"].items():
        max_amount = row.get("max_amount")
        out[symbol] = MarketLimits(
            symbol=symbol,
            amount_step=float(row["amount_step"]),
            price_tick=float(row["price_tick"]),
            min_amount=float(row["min_amount"]),
            min_notional=float(row["min_notional"]),
            max_amount=float(max_amount) if max_amount is not None else None,
        )
    return out


def _num(value) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _step_from_precision(value, precision_mode: int) -> float | None:
    number = _num(value)
    if number is None:
        return None
    if precision_mode == DECIMAL_PLACES:
        return float(Decimal(1).scaleb(-int(number)))
    return number


def from_ccxt_markets(markets: dict, precision_mode: int = TICK_SIZE) -> dict[str, MarketLimits]:
    """Limits of every spot market in ccxt ``load_markets()`` output, keyed by ccxt symbol.

    Binance's own filters in ``market["info"]["filters"]`` win (LOT_SIZE, PRICE_FILTER, NOTIONAL
    or MIN_NOTIONAL); otherwise ccxt's unified ``precision`` and ``limits`` are used, read
    according to ``precision_mode`` (ccxt ``TICK_SIZE`` = 4 for binance: precision is the step
    itself; ``DECIMAL_PLACES`` = 2: precision is a number of decimals). Missing numbers fall
    back to :func:`default_limits`. Derivative markets (``spot`` false) are skipped.
    """
    out: dict[str, MarketLimits] = {}
    for symbol, market in markets.items():
        if market.get("spot") is False:
            continue
        info = market.get("info") or {}
        filters = {f.get("filterType"): f for f in info.get("filters") or [] if isinstance(f, dict)}
        lot = filters.get("LOT_SIZE", {})
        price_filter = filters.get("PRICE_FILTER", {})
        notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
        precision = market.get("precision") or {}
        limits = market.get("limits") or {}
        fallback = default_limits(symbol)

        step = _num(lot.get("stepSize"))
        if step is None:
            step = _step_from_precision(precision.get("amount"), precision_mode)
        tick = _num(price_filter.get("tickSize"))
        if tick is None:
            tick = _step_from_precision(precision.get("price"), precision_mode)
        min_amount = _num(lot.get("minQty"))
        if min_amount is None:
            min_amount = _num((limits.get("amount") or {}).get("min"))
        max_amount = _num(lot.get("maxQty"))
        if max_amount is None:
            max_amount = _num((limits.get("amount") or {}).get("max"))
        min_notional = _num(notional.get("minNotional", notional.get("notional")))
        if min_notional is None:
            min_notional = _num((limits.get("cost") or {}).get("min"))

        out[symbol] = MarketLimits(
            symbol=symbol,
            amount_step=step if step is not None else fallback.amount_step,
            price_tick=tick if tick is not None else fallback.price_tick,
            min_amount=min_amount if min_amount is not None else fallback.min_amount,
            min_notional=min_notional if min_notional is not None else fallback.min_notional,
            max_amount=max_amount if max_amount else None,
            maker_fee=_num(market.get("maker")),
            taker_fee=_num(market.get("taker")),
        )
    return out

"""What an exchange can do for the configured execution, read from ccxt's ``has`` flags and the
exchange's market info, checked at start: a config asking for what the exchange cannot do is
refused with the exchange and the feature named.

========================  ==============================================  ===========================
setting                   needs                                           Binance / Binance.US
========================  ==============================================  ===========================
``entry_order: limit``,   ``has['createLimitOrder']``; Binance markets:   ``LIMIT``
resting take-profit       ``LIMIT`` in ``info.orderTypes``
``exit_order: maker``     ``has['createPostOnlyOrder']``; ``LIMIT_MAKER``  ``LIMIT_MAKER``
``stop_loss_limit``       ``has['createStopLimitOrder']``;                 ``STOP_LOSS_LIMIT``
                          ``STOP_LOSS_LIMIT``
``oco``                   an OCO endpoint Daybreak speaks (Binance,        ``ocoAllowed``
                          Binance.US) and ``info.ocoAllowed``
========================  ==============================================  ===========================

A flag ccxt leaves unset (``None``: not known) counts as missing. Re-pricing uses ``editOrder``
(Binance's cancelReplace) when ``has`` it, else a cancel and a new order, so it needs nothing more.
"""

from __future__ import annotations

from daybreak.core.config import Config
from daybreak.core.execution_settings import ExecutionSettings
from daybreak.exchange.resting import OCO_EXCHANGES

_FEATURES = {
    "limit": ("createLimitOrder", "LIMIT", "limit orders"),
    "post_only": ("createPostOnlyOrder", "LIMIT_MAKER", "post-only (maker) orders"),
    "stop_limit": ("createStopLimitOrder", "STOP_LOSS_LIMIT", "stop-loss-limit orders"),
}


def _needs(settings: ExecutionSettings) -> list[tuple[str, str]]:
    """(config key, feature) pairs ``settings`` relies on."""
    out = []
    if settings.entry_order == "limit":
        out.append(("entry_order", "limit"))
    if settings.take_profit_order == "resting":
        out.append(("take_profit_order", "limit"))
    if settings.exit_order == "maker":
        out.append(("exit_order", "post_only"))
    if settings.exchange_stop != "off":
        out.append(("exchange_stop", "stop_limit"))
    if settings.exchange_stop == "oco":
        out.append(("exchange_stop", "oco"))
    return out


def execution_problem(config: Config, exchange_id: str, has: dict, markets: dict) -> str | None:
    """The first setting of ``config`` (``execution`` and each ``execution_overrides``) that
    ``exchange_id`` cannot do on a configured symbol, as one line naming the key, the exchange and
    the feature; None when everything can be done. ``has``: ccxt's ``exchange.has``; ``markets``:
    ccxt ``load_markets()`` output."""
    sections = [("execution", config.execution)]
    sections += [(f"execution_overrides.{algo}", config.execution_for(algo)) for algo in config.execution_overrides]
    for section, settings in sections:
        for key, feature in _needs(settings):
            why = _missing(feature, exchange_id, has, markets, config.symbols)
            if why:
                value = getattr(settings, key)
                return f"config: {section}.{key} = {value!r}: {exchange_id} cannot do it: {why}"
    return None


def _missing(feature: str, exchange_id: str, has: dict, markets: dict, symbols: list[str]) -> str:
    if feature == "oco":
        if exchange_id not in OCO_EXCHANGES:
            return "OCO order lists (take-profit and stop in one list) are not offered through ccxt for this exchange"
        refused = [s for s in symbols if ((markets.get(s) or {}).get("info") or {}).get("ocoAllowed") is False]
        return f"OCO order lists are not allowed on {', '.join(refused)}" if refused else ""
    flag, binance_type, name = _FEATURES[feature]
    if not has.get(flag):
        return f"{name} (ccxt has['{flag}'] is {has.get(flag)!r})"
    refused = []
    for symbol in symbols:
        types = ((markets.get(symbol) or {}).get("info") or {}).get("orderTypes")
        if isinstance(types, list) and binance_type not in types:
            refused.append(symbol)
    return f"{name}: {binance_type} is not among the order types of {', '.join(refused)}" if refused else ""

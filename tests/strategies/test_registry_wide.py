"""Tests every registered strategy passes, present and future (iterates ``registry.all_classes()``).

Data: real DOGE/USDT 1m candles of 2021-04-22 .. 04-25 (with a 284-candle Binance maintenance gap)
and real DOGE/USDT 5m candles with 17 flat zero-volume bars and a gap (tests/data/episodes).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import talib
from pydantic import ValidationError

import strategies  # noqa: F401  (registers every strategy)
from daybreak.core.timeframes import context_frame, resample, timeframe_ms
from strategies import registry
from strategies.base import SIGNAL_COLUMNS
from tests.strategies.candles import load_episode

CLASSES = registry.all_classes()
IDS = [cls.name for cls in CLASSES]
DOGE_1M = "DOGE-USDT_1m_2021-04-22_25.csv.gz"


@pytest.fixture(scope="module")
def real_1m() -> pd.DataFrame:
    return load_episode(DOGE_1M)


@pytest.fixture(scope="module")
def populated(real_1m) -> dict[str, pd.DataFrame]:
    return {cls.name: cls().populate(real_1m) for cls in CLASSES}


def _gap_end(frame: pd.DataFrame) -> int:
    """Position of the first row after the first gap."""
    return int(np.flatnonzero(np.diff(frame["timestamp"].to_numpy()) > 60_000)[0]) + 1


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_no_look_ahead(cls, real_1m, populated):
    strategy, full = cls(), populated[cls.name]
    assert full["enter_long"].any() and full["exit_long"].any(), "the test data must make the strategy fire"
    w, gap = strategy.warmup, _gap_end(real_1m)
    for n in sorted({w // 2, w, w + 1, w + 2, w + 3, w + 4, gap - 1, gap, gap + 1, gap + 7, len(real_1m) - 1}):
        part = strategy.populate(real_1m.iloc[:n])
        pd.testing.assert_frame_equal(
            part, full.iloc[:n], check_exact=False, rtol=1e-12, obj=f"{cls.name} on candles[:{n}]"
        )


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_last_signal_is_the_same_with_one_and_two_warmups_of_history(cls, real_1m, populated):
    strategy, full = cls(), populated[cls.name]
    w = strategy.warmup
    ends = np.arange(2 * w, len(real_1m) + 1)
    fired = ends[(full["enter_long"] | full["exit_long"]).to_numpy()[ends - 1]]
    assert len(fired) > 0, f"{cls.name} never fires after {2 * w} candles of history"
    quiet = ends[:: max(1, len(ends) // 10)]
    checked = np.unique(np.r_[fired[:: max(1, len(fired) // 30)], quiet])
    for end in checked:
        one = strategy.last_signal(real_1m.iloc[end - w : end], "DOGE/USDT")
        two = strategy.last_signal(real_1m.iloc[end - 2 * w : end], "DOGE/USDT")
        assert one == two, f"{cls.name} at row {end - 1}: {one} with 1x warm-up, {two} with 2x"


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_every_numeric_param_has_both_bounds_and_a_description(cls):
    schema = cls.params_model.model_json_schema()
    props = schema["properties"]
    assert "timeframe" in props
    for name, prop in props.items():
        assert prop.get("description"), f"{cls.name}.{name} has no description"
        if prop.get("type") in ("integer", "number"):
            assert "minimum" in prop or "exclusiveMinimum" in prop, f"{cls.name}.{name} has no lower bound"
            assert "maximum" in prop or "exclusiveMaximum" in prop, f"{cls.name}.{name} has no upper bound"
    with pytest.raises(ValidationError, match="no_such_param"):
        cls.params_model.model_validate({"no_such_param": 1})
    cls.params_model.model_validate({})  # defaults are valid


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_every_param_gets_a_dashboard_widget(cls):
    """The dashboard's config editor builds its inputs from the schema: no param may fall back to
    a raw JSON box, so a new strategy is editable with no dashboard change."""
    from daybreak.ui.schema_inputs import field_specs

    specs = field_specs(cls.params_model)
    assert {spec.name for spec in specs} == set(cls.params_model.model_fields)
    assert all(spec.kind != "json" for spec in specs), [(s.name, s.kind) for s in specs]


def _talib_cases():
    for cls in CLASSES:
        for ref in getattr(cls(), "talib_refs", lambda: [])():
            yield pytest.param(cls, ref, id=f"{cls.name}-{ref.column}")


def _talib_values(frame: pd.DataFrame, ref) -> np.ndarray:
    inputs = [frame[c].to_numpy(np.float64) for c in ref.inputs]
    result = getattr(talib, ref.function)(*inputs, **ref.params)
    values = result[ref.output] if isinstance(result, tuple) else result
    return pd.Series(values).shift(ref.shift).to_numpy()


@pytest.mark.parametrize("cls,ref", list(_talib_cases()))
@pytest.mark.parametrize("episode", [DOGE_1M, "BTC-USDT_1m_2021-05-18_19.csv.gz"])
def test_indicators_agree_with_talib(cls, ref, episode):
    frame = load_episode(episode)
    strategy = cls()
    ours = strategy.populate(frame)[ref.column].to_numpy(np.float64)
    if ref.timeframe is None:
        theirs = _talib_values(frame, ref)
    else:
        ctx = resample(frame, ref.timeframe, strategy.timeframe)
        ctx = pd.DataFrame({"timestamp": ctx["timestamp"], "v": _talib_values(ctx, ref)})
        theirs = context_frame(frame, ctx, ref.timeframe, strategy.timeframe)["v"].to_numpy()
    settled = slice(strategy.warmup, None)
    assert np.isnan(ours[settled]).sum() == np.isnan(theirs[settled]).sum() == 0
    np.testing.assert_allclose(
        ours[settled],
        theirs[settled],
        rtol=1e-6,
        atol=1e-12,
        err_msg=f"{cls.name}.{ref.column} vs talib.{ref.function}",
    )


def _check_clean(name: str, out: pd.DataFrame, n: int) -> None:
    assert len(out) == n
    for col in SIGNAL_COLUMNS:
        assert out[col].dtype == bool, f"{name}.{col} is {out[col].dtype}, not bool (NaN leaked?)"
    numeric = out.select_dtypes("number").to_numpy(np.float64)
    assert not np.isinf(numeric).any(), f"{name} produced inf (a division by zero)"


def _thin_market(frame: pd.DataFrame) -> pd.DataFrame:
    """Real candles made thin like Binance.US minutes: flat zero-volume runs and single zero-volume
    candles, plus a second gap. Flat candles sit at the previous close (O = H = L = C)."""
    out = frame.copy()
    for start, length in [(700, 40), (2200, 25), (4100, 1), (4300, 1), (4302, 1)]:
        rows = out.index[start : start + length]
        prev_close = out["close"].iat[start - 1]
        out.loc[rows, ["open", "high", "low", "close"]] = prev_close
        out.loc[rows, "volume"] = 0.0
    out.loc[out.index[3000:3011], "volume"] = 0.0  # real prices, no volume
    return out.drop(out.index[1500:1560]).reset_index(drop=True)


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_gaps_and_zero_volume_candles_give_no_exception_and_no_nan_or_inf(cls, real_1m):
    thin = _thin_market(real_1m)
    strategy = cls()
    _check_clean(cls.name, strategy.populate(thin), len(thin))
    for end in (740, 741, 2225, 4101, 4303, 3011, 1501):  # ending inside the thin stretches
        strategy.last_signal(thin.iloc[:end], "DOGE/USDT")


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_real_5m_zero_volume_halt_and_gap(cls):
    frame = load_episode("DOGE-USDT_5m_2021-02-09_11.csv.gz")
    assert (frame["volume"] == 0).sum() == 17
    try:
        strategy = cls({"timeframe": "5m"})
    except ValidationError:
        pytest.skip(f"{cls.name} does not run on 5m candles (its 1m run is covered above)")
    assert timeframe_ms(strategy.timeframe) == 300_000
    _check_clean(cls.name, strategy.populate(frame), len(frame))


@pytest.mark.parametrize("cls", CLASSES, ids=IDS)
def test_a_few_candles_of_history_give_no_error_and_no_signal(cls, real_1m):
    strategy = cls()
    for n in (0, 1, 2, 3, 7):
        out = strategy.signals(real_1m.iloc[:n])
        assert len(out) == n and not (out["enter_long"].any() or out["exit_long"].any()), (cls.name, n)


def test_warmups_are_positive_integers():
    for cls in CLASSES:
        w = cls().warmup
        assert isinstance(w, int) and 1 <= w < 10_000 and not math.isnan(w), cls.name

"""Trading strategies. Importing this package registers every strategy module listed below."""

# one import line per strategy module
from strategies import (
    atr_expansion,  # noqa: F401
    bollinger_squeeze,  # noqa: F401
    confluence,  # noqa: F401
    donchian_breakout,  # noqa: F401
    ema_crossover_volume,  # noqa: F401
    ma_crossover,  # noqa: F401
    macd_crossover,  # noqa: F401
    momentum_chase,  # noqa: F401
    registry,  # noqa: F401
    rsi_divergence,  # noqa: F401
    rsi_reversion,  # noqa: F401
    volume_breakout,  # noqa: F401
)
from strategies.base import BaseStrategy, StrategyParams  # noqa: F401

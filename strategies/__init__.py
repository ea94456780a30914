"""Trading strategies. Importing this package registers every strategy module listed below."""
# one import line per strategy module
from strategies import (
    atr_expansion,  # noqa: F401,E402
    bollinger_squeeze,  # noqa: F401,E402
    confluence,  # noqa: F401,E402
    donchian_breakout,  # noqa: F401,E402
    ema_crossover_volume,  # noqa: F401,E402
    ma_crossover,  # noqa: F401,E402
    macd_crossover,  # noqa: F401,E402
    momentum_chase,  # noqa: F401,E402
    registry,  # noqa: F401
    rsi_divergence,  # noqa: F401,E402
    rsi_reversion,  # noqa: F401,E402
    volume_breakout,  # noqa: F401,E402
)
from strategies.base import BaseStrategy, StrategyParams  # noqa: F401

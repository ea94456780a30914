"""Trading strategies. Importing this package registers every strategy module listed below."""
from strategies import registry  # noqa: F401
from strategies.base import BaseStrategy, StrategyParams  # noqa: F401

# one import line per strategy module
from strategies import ma_crossover  # noqa: F401,E402
from strategies import rsi_reversion  # noqa: F401,E402
from strategies import macd_crossover  # noqa: F401,E402
from strategies import ema_crossover_volume  # noqa: F401,E402
from strategies import volume_breakout  # noqa: F401,E402
from strategies import bollinger_squeeze  # noqa: F401,E402
from strategies import rsi_divergence  # noqa: F401,E402
from strategies import atr_expansion  # noqa: F401,E402
from strategies import donchian_breakout  # noqa: F401,E402
from strategies import momentum_chase  # noqa: F401,E402
from strategies import confluence  # noqa: F401,E402

"""Trading strategies. Importing this package registers every strategy module listed below."""
from strategies import registry  # noqa: F401
from strategies.base import BaseStrategy, StrategyParams  # noqa: F401

# one import line per strategy module
from strategies import ma_crossover  # noqa: F401,E402

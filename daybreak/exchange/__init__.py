"""Exchange access (ccxt) and error translation, API keys, candle files and downloads."""

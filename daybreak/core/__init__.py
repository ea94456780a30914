"""The trading rules and their types: pure (no I/O, no clock, no ccxt/boto3/streamlit). See docs/architecture.md."""

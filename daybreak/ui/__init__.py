"""The Streamlit dashboard's page sections (``dashboard.py`` wires them).

The dashboard reads storage only (never the exchange), edits ``config.json`` through
:func:`daybreak.settings.save_config_atomic` and asks the bot for actions by writing
:class:`storage.records.Control` rows.
"""

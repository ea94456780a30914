"""The Streamlit dashboard (``dashboard.py`` runs :func:`daybreak.ui.app.main`).

It reads storage only (never the exchange), edits ``config.json`` through
:func:`daybreak.ops.config_file.save_config_atomic` and asks the bot for actions by writing
:class:`daybreak.core.domain.Control` rows. Pages live in :mod:`daybreak.ui.views` (the scripts
``st.navigation`` runs are in ``daybreak/ui/pages/``).
"""

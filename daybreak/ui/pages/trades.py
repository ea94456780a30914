"""Trades page script (run by st.navigation); the page is :mod:`daybreak.ui.views.trades`."""

from daybreak.ui.context import current
from daybreak.ui.views import trades

trades.render(current())

"""Logs page script (run by st.navigation); the page is :mod:`daybreak.ui.views.logs`."""

from daybreak.ui.context import current
from daybreak.ui.views import logs

logs.render(current())

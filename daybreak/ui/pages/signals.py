"""Signals page script (run by st.navigation); the page is :mod:`daybreak.ui.views.signals`."""

from daybreak.ui.context import current
from daybreak.ui.views import signals

signals.render(current())

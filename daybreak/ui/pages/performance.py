"""Performance page script (run by st.navigation); the page is :mod:`daybreak.ui.views.performance`."""

from daybreak.ui.context import current
from daybreak.ui.views import performance

performance.render(current())

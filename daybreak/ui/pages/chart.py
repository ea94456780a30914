"""Chart page script (run by st.navigation); the page is :mod:`daybreak.ui.views.chart`."""

from daybreak.ui.context import current
from daybreak.ui.views import chart

chart.render(current())

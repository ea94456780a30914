"""Config page script (run by st.navigation); the page is :mod:`daybreak.ui.views.config`."""

from daybreak.ui.context import current, current_path
from daybreak.ui.views import config

config.render(current(), current_path())

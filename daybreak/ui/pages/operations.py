"""Operations page script (run by st.navigation); the page is :mod:`daybreak.ui.views.operations`."""

from daybreak.ui.context import current
from daybreak.ui.views import operations

operations.render(current())

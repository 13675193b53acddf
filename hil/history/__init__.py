"""The run history: every ``hil run`` remembered in one SQLite file.

- ``db``: the file itself (schema versions and migrations, WAL, one
  transaction per write, so two boards finishing at once and a killed writer
  leave it whole);
- ``facts``: what a run's typed ``Report`` contributes to a row, and the
  series key runs are compared within;
- ``baseline``: which earlier run a new one is compared with, and the
  regression gates against it;
- ``page``: the static HTML trend page (``hil history report``).
"""

from hil.history.db import History, default_path, open_history

__all__ = ["History", "default_path", "open_history"]

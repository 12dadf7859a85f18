"""The one exception type for conditions a user can fix.

Entry points catch :class:`MigrationError` and print ``FAILED: <message>`` instead of a
traceback, as alembic does with ``CommandError``. Anything else is a bug and keeps its
traceback.
"""


class MigrationError(Exception):
    """A problem the user can fix: bad input, an unreachable server, a failed migration."""

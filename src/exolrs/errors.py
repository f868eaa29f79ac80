"""The one exception type for problems a user can cause and fix."""


class ExolrsError(Exception):
    """A user-fixable problem: the message says what was wrong, where, and what to do.

    The CLI prints the message without a traceback and exits with status 2.
    """

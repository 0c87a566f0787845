"""The one exception type a user sees: the CLI prints its message on one line and exits 2."""


class CodesignError(Exception):
    """An error the user can act on: the message names what is wrong and how to mend it."""

"""Exit codes scripts can rely on; documented in ``kamrules --help`` and the README."""

OK = 0
RECORDS_FAILED = 1
"""Some account records could not be decided; the others were, and errors were written."""
USAGE = 2
"""The command line itself is wrong (click's own code for usage errors)."""
INVALID_RULES = 3
"""The rulebook failed to load; nothing was evaluated."""
INVALID_INPUT = 4
"""The accounts input could not be read at all, or a named account is not in it."""
LINT_WARNINGS = 5
"""``kamrules lint`` found warnings (the rulebook is valid, but probably not what is meant)."""
REGISTER = 6
"""The decision register could not be opened, migrated, read or written."""

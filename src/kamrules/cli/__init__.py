"""The ``kamrules`` command (needs the ``cli`` extra: typer and rich)."""

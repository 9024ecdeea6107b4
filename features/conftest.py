"""The features run on kamrules' own step library, exactly as a policy owner's repository would.

Nothing to register here: installing kamrules registers its pytest plugin (the ``pytest11``
entry point ``kamrules``), and ``kamrules_features`` in pyproject.toml has it collect every
``*.feature`` file in this folder, so no test module calls ``scenarios()`` either.
"""

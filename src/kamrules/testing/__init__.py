"""Testing a rulebook like code: Gherkin features in business language, with no step code.

A policy owner keeps the rule files in ``rules/`` and, beside them, ``features/*.feature``
files that say in plain words what the policy must decide::

    Scenario: A strong account that does not want key-account treatment is not forced into it
      Given the default rulebook
      And an account "ACC-7" with:
        | fact              | value      |
        | annual_revenue    | 25,000,000 |
        | wants_key_account | no         |
      When the accounts are decided
      Then account "ACC-7" is not a key account
      And the explanation of account "ACC-7" says "does not want key-account treatment"

``kamrules.testing.steps`` holds every step such a feature can use, and the fixture that
carries a scenario's state (``policy``). Register it once, in ``features/conftest.py``::

    pytest_plugins = ["kamrules.testing.steps"]

and collect the features with pytest-bdd (``scenarios("features")`` in a test module). The
vocabulary is listed in the docstring of :mod:`kamrules.testing.steps`. It needs the ``bdd``
extra (pytest and pytest-bdd); ``import kamrules`` itself never imports this package.
"""

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

and runs them with ``kamrules test rules/ features/`` (``--coverage`` lists the bands, gates,
tiers, segments and plan checks no scenario exercised), or with plain ``pytest`` given a
``pytest.ini`` that says ``kamrules_features = features``. Installing kamrules with the
``bdd`` extra registers the pytest plugin (:mod:`kamrules.testing.plugin`, entry point
``kamrules``), so no ``conftest.py``, step code or test module is needed; see
``examples/policy-tests`` for a complete example. The vocabulary is listed in the docstring
of :mod:`kamrules.testing.steps`; the options in :mod:`kamrules.testing.kit`.
``import kamrules`` itself never imports this package.
"""

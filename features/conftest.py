"""The features run on kamrules' own step library, exactly as a policy owner's repository would."""

pytest_plugins = ["kamrules.testing.steps"]

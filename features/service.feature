Feature: The decision service, as a CRM integrator sees it
  A CRM workflow (a Salesforce Flow, a HubSpot webhook) posts an account to the service and
  maps the flat answer into the account's fields. The policy owner changes the rules in the
  folder the service watches: the change is picked up without a restart, a broken change is
  refused while the old rules keep answering, and the register keeps every decision, so the
  account's history shows what moved it.

  These scenarios run against the service in-process, on a copy of the default rulebook, with
  a SQLite register. Account ACC-00016 is Silver under the default rulebook (attractiveness
  below Gold's 75) and Gold once Gold's minimum is lowered to 65.

  Background:
    Given the decision service runs on the default rulebook with a register
    And the CRM system "salesforce" has a token

  Scenario: A CRM posts an account and gets its tier and why
    When "salesforce" posts the account "ACC-00016" as of 2026-11-01 in the CRM shape
    Then the answer is 200
    And the answer has the flat fields tier, segment, score, compliance_status, why, rulebook_version and rulebook_hash
    And the answer's tier is "Silver"
    And the answer's why starts with "Silver: attractiveness score"
    And the decision is in the register with the caller "salesforce"

  Scenario: Without a valid token there is no decision
    When an unknown caller posts the account "ACC-00016" as of 2026-11-01 in the CRM shape
    Then the answer is 401

  Scenario: A policy change is picked up without a restart
    When the policy owner lowers Gold's minimum score to 65 in version "2027.01"
    And the service reloads its rules
    Then the service serves rulebook version "2027.01"
    When "salesforce" posts the account "ACC-00016" as of 2026-11-01 in the CRM shape
    Then the answer's tier is "Gold"
    And the answer's rulebook_version is "2027.01"

  Scenario: A broken change is not served
    When the policy owner saves a tiers file with a mistake on line 3
    And the service reloads its rules
    Then the reload is refused naming "tiers.yaml" line 3
    And the service serves rulebook version "2026.11"
    When "salesforce" posts the account "ACC-00016" as of 2026-11-01 in the CRM shape
    Then the answer is 200
    And the answer's rulebook_version is "2026.11"

  Scenario: The history shows the change and what moved the tier
    When "salesforce" posts the account "ACC-00016" as of 2026-11-01 in the CRM shape
    And the policy owner lowers Gold's minimum score to 65 in version "2027.01"
    And the service reloads its rules
    And "salesforce" posts the account "ACC-00016" as of 2026-11-01 in the CRM shape
    Then the history of "ACC-00016" shows the tiers Silver, Gold
    And the last change names "rulebook default_kam 2026.11 -> default_kam 2027.01"
    And the last change names "tier Gold: now eligible"

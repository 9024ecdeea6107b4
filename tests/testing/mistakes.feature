Feature: Mistakes a policy owner makes

  Background:
    Given the default rulebook
    And the decision date is 2027-01-15

  Scenario: An undefined step
    Given an account "A" with:
      | annual_revenue | 3,000,000 |
    When the accounts are decided
    Then account "A" is placed in tier "Premier"

  Scenario: A Then step written as a Given
    Given account "A" is in tier "Premier"

  Scenario: A table with the wrong columns
    Given an account "A" with:
      | fact           | value     | note |
      | annual_revenue | 3,000,000 | big  |
    When the accounts are decided

  Scenario: A misspelt fact
    Given these accounts:
      | account | anual_revenue |
      | A       | 3,000,000     |

  Scenario: A step without its table
    Given an account "A" with:
    When the accounts are decided

  Scenario: An account the rules cannot decide
    Given an account "A" with:
      | strategic_fit | 7 |
    When the accounts are decided
    Then account "A" is in tier "Standby"

  Scenario: A tier that does not exist
    Given an account "A" with:
      | strategic_fit | 4 |
    When the accounts are decided
    Then account "A" is in tier "Premiere"

  Scenario: A criterion that does not exist
    Given an account "A" with:
      | strategic_fit | 4 |
    When the accounts are decided
    Then criterion "fitt" gives account "A" 75 points

  Scenario: A gate that does not exist
    Given an account "A" with:
      | strategic_fit | 4 |
    When the accounts are decided
    Then gate "declines" applies to account "A"

  Scenario: A check that does not exist
    Given an account "A" with:
      | strategic_fit | 4 |
    When the accounts are decided
    Then check "mentor_reviews" passes for account "A"

  Scenario: A decisions table with a column that does not exist
    Given an account "A" with:
      | strategic_fit | 4 |
    When the accounts are decided
    Then the decisions are:
      | account | tier    | segmnt |
      | A       | Standby | x      |

  Scenario: A plan checks table with a result that does not exist
    Given an account "A" with:
      | strategic_fit | 4 |
    When the accounts are decided
    Then the plan checks of account "A" are:
      | check         | result |
      | plan_in_place | ok     |

  Scenario: A list that does not exist
    Given an account "A" with:
      | strategic_fit | 4 |
    And account "A" has these contact persons:
      | name |
      | Ann  |

  Scenario: A check that does not say what the scenario expects
    Given an account "A" with:
      | strategic_fit | 4 |
    When the accounts are decided
    Then check "plan_in_place" of account "A" says "the plan is fine"

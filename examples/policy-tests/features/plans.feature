Feature: Northwind's account plans
  Every key account has a current plan; once a contract is negotiated, its mentor reviews
  it every quarter (90 days).

  Background:
    Given the default rulebook
    And the decision date is 2027-01-15
    And an account "NW-1" with:
      | fact             | value                |
      | account_manager  | Sam Reed             |
      | stage            | contract negotiation |
      | annual_revenue   | 3,000,000            |
      | growth_potential | 5                    |
      | strategic_fit    | 5                    |
    And account "NW-1" has a plan with:
      | status | agreed   |
      | mentor | Ida Moss |

  Scenario Outline: A plan last reviewed by its mentor on <review>
    Given account "NW-1" has these plan reviews:
      | date     | kind   |
      | <review> | mentor |
    When the accounts are decided
    Then check "mentor_review" <result> for account "NW-1"
    And the plan of account "NW-1" is <status>

    # 2026-10-17 is 90 days before 2027-01-15
    Examples:
      | review     | result | status    |
      | 2026-10-17 | passes | compliant |
      | 2026-10-16 | fails  | at risk   |

  Scenario: A key account without a plan is told to draft one
    Given account "NW-1" has no plan
    When the accounts are decided
    Then check "plan_in_place" fails for account "NW-1"
    And the plan of account "NW-1" is non compliant
    And the plan report of account "NW-1" says "Draft the account plan and share it with the account team."

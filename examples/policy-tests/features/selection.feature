Feature: Northwind's key accounts
  Northwind scores every account on revenue (weight 40), growth potential (30) and
  strategic fit (30), and grades it into the Premier league (from 80), the First Division
  (from 60), the Second Division (from 40), or Standby.

  Background:
    Given the default rulebook
    And the decision date is 2027-01-15

  Scenario: A growing customer that fits our strategy plays in the Premier league
    Given an account "NW-1" with:
      | fact             | value     |
      | annual_revenue   | 3,000,000 |
      | growth_potential | 5         |
      | strategic_fit    | 5         |
    When the accounts are decided
    # 40 x 60 + 30 x 100 + 30 x 100 = 8400, over a weight of 100
    Then account "NW-1" scores 84.00 on score
    And account "NW-1" is in tier "Premier"
    And account "NW-1" is a key account

  Scenario Outline: A score of <score> plays in the <tier>
    Given an account "NW-2" with:
      | fact             | value     |
      | annual_revenue   | <revenue> |
      | growth_potential | <growth>  |
      | strategic_fit    | <fit>     |
    When the accounts are decided
    Then the decisions are:
      | account | score   | tier   | key account |
      | NW-2    | <score> | <tier> | <key>       |

    # 40 x revenue points + 30 x (growth - 1) x 25 + 30 x (fit - 1) x 25, over 100
    Examples:
      | revenue    | growth | fit | score | tier            | key |
      | 12,000,000 | 4      | 4   | 85.00 | Premier         | yes |
      | 3,000,000  | 4      | 4   | 69.00 | First Division  | yes |
      | 600,000    | 3      | 4   | 49.50 | Second Division | yes |
      | 100,000    | 2      | 2   | 15.00 | Standby         | no  |

  Scenario: The Premier team looks after two accounts; the third best plays in the First Division
    Given these accounts:
      | account | annual_revenue | growth_potential | strategic_fit |
      | NW-A    | 12,000,000     | 5                | 5             |
      | NW-B    | 12,000,000     | 5                | 4             |
      | NW-C    | 3,000,000      | 5                | 5             |
    When the accounts are decided
    # NW-A 100.00, NW-B 92.50, NW-C 84.00: all reach 80, and Premier holds two.
    Then the tiers are:
      | account | tier           |
      | NW-A    | Premier        |
      | NW-B    | Premier        |
      | NW-C    | First Division |
    And the placement of account "NW-C" says "ranked 3rd of 3 eligible for Premier, capacity 2: the tier is full, so it falls to First Division"

  Scenario: A customer that does not want key-account treatment is not forced into it
    Given an account "NW-3" with:
      | fact              | value      |
      | annual_revenue    | 25,000,000 |
      | growth_potential  | 5          |
      | strategic_fit     | 5          |
      | wants_key_account | no         |
    When the accounts are decided
    Then account "NW-3" is in tier "Standby"
    And gate "declines_kam" applies to account "NW-3"

  Scenario: A severe credit risk keeps the best account in the Second Division
    Given an account "NW-4" with:
      | fact             | value      |
      | annual_revenue   | 12,000,000 |
      | growth_potential | 5          |
      | strategic_fit    | 5          |
      | credit_risk      | severe     |
    When the accounts are decided
    # 40 x 100 + 30 x 100 + 30 x 100 = 10000: a perfect score, capped by the gate
    Then account "NW-4" scores 100.00 on score
    And account "NW-4" is in tier "Second Division"
    And the explanation of account "NW-4" says "With a severe credit risk, the account plays no higher than the Second Division."

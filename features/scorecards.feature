Feature: The default rulebook's criteria, threshold by threshold
  Every criterion of the default rulebook (rules/selection.yaml) turns one fact into 0 to
  100 points. These examples are its bands, scales and maps written out: at each threshold
  a value earns the band's points, and one step below earns the band beneath. A key
  account director can read the policy's thresholds here without opening the YAML, and the
  rule coverage report (kamrules test --coverage) shows that every band is exercised.

  Background:
    Given the default rulebook
    And the decision date is 2026-11-01

  Rule: Bands: reaching a threshold earns its points, and below the lowest band earns nothing

    Scenario Outline: <criterion> of <value> earns <points> points
      Given an account "A-1" with:
        | fact   | value   |
        | <fact> | <value> |
      When the accounts are decided
      Then criterion "<criterion>" gives account "A-1" <points> points
      And the explanation of account "A-1" says "<band>"

      Examples: Revenue with us, weight 15
        | criterion      | fact           | value      | points | band                                        |
        | annual_revenue | annual_revenue | 20,000,000 | 100    | at least 20,000,000 (20M and more)          |
        | annual_revenue | annual_revenue | 19,999,999 | 80     | at least 10,000,000 (10M to 20M)            |
        | annual_revenue | annual_revenue | 5,000,000  | 60     | at least 5,000,000 (5M to 10M)              |
        | annual_revenue | annual_revenue | 2,000,000  | 40     | at least 2,000,000 (2M to 5M)               |
        | annual_revenue | annual_revenue | 500,000    | 20     | at least 500,000 (500k to 2M)               |
        | annual_revenue | annual_revenue | 499,999    | 0      | below every band (lowest: at least 500,000) |

      Examples: Size of the customer's wallet, weight 10
        | criterion   | fact        | value      | points | band                                          |
        | wallet_size | wallet_size | 50,000,000 | 100    | at least 50,000,000 (50M and more)            |
        | wallet_size | wallet_size | 20,000,000 | 75     | at least 20,000,000 (20M to 50M)              |
        | wallet_size | wallet_size | 8,000,000  | 50     | at least 8,000,000 (8M to 20M)                |
        | wallet_size | wallet_size | 3,000,000  | 25     | at least 3,000,000 (3M to 8M)                 |
        | wallet_size | wallet_size | 2,999,999  | 0      | below every band (lowest: at least 3,000,000) |

      Examples: Growth potential, weight 25
        | criterion        | fact             | value | points | band                                 |
        | growth_potential | growth_potential | 5     | 100    | at least 5 (very high)               |
        | growth_potential | growth_potential | 4     | 75     | at least 4 (high)                    |
        | growth_potential | growth_potential | 3     | 50     | at least 3 (moderate)                |
        | growth_potential | growth_potential | 2     | 25     | at least 2 (low)                     |
        | growth_potential | growth_potential | 1     | 0      | below every band (lowest: at least 2) |

      Examples: Strategic fit, weight 25
        | criterion     | fact          | value | points | band                                 |
        | strategic_fit | strategic_fit | 5     | 100    | at least 5 (excellent)               |
        | strategic_fit | strategic_fit | 4     | 75     | at least 4 (good)                    |
        | strategic_fit | strategic_fit | 3     | 45     | at least 3 (partial)                 |
        | strategic_fit | strategic_fit | 2     | 15     | at least 2 (weak)                    |
        | strategic_fit | strategic_fit | 1     | 0      | below every band (lowest: at least 2) |

      Examples: Strength of the relationship, weight 25 on our strength
        | criterion             | fact                  | value | points | band                                 |
        | relationship_strength | relationship_strength | 5     | 100    | at least 5 (partnership)             |
        | relationship_strength | relationship_strength | 4     | 80     | at least 4 (preferred supplier)      |
        | relationship_strength | relationship_strength | 3     | 55     | at least 3 (established)             |
        | relationship_strength | relationship_strength | 2     | 25     | at least 2 (occasional)              |
        | relationship_strength | relationship_strength | 1     | 0      | below every band (lowest: at least 2) |

      Examples: Position against competitors, weight 15 on our strength
        | criterion            | fact                 | value | points | band                                 |
        | competitive_position | competitive_position | 5     | 100    | at least 5 (clear leader)            |
        | competitive_position | competitive_position | 4     | 75     | at least 4 (among the leaders)       |
        | competitive_position | competitive_position | 3     | 50     | at least 3 (one of several)          |
        | competitive_position | competitive_position | 2     | 25     | at least 2 (challenger)              |
        | competitive_position | competitive_position | 1     | 0      | below every band (lowest: at least 2) |

  Rule: Scales: points in proportion between two values, held at the ends

    Scenario Outline: <criterion> of <value> earns <points> points on its scale
      Given an account "A-1" with:
        | fact   | value   |
        | <fact> | <value> |
      When the accounts are decided
      Then criterion "<criterion>" gives account "A-1" <points> points

      # gross margin: 10% earns 0, 40% earns 100: (25 - 10) / (40 - 10) x 100 = 50
      # share of wallet: 0% earns 0, 60% earns 100: 30 / 60 x 100 = 50
      # customer satisfaction: NPS -20 earns 0, 60 earns 100: (20 + 20) / 80 x 100 = 50
      Examples:
        | criterion             | fact                | value | points |
        | gross_margin          | gross_margin_pct    | 5     | 0      |
        | gross_margin          | gross_margin_pct    | 25    | 50     |
        | gross_margin          | gross_margin_pct    | 55    | 100    |
        | share_of_wallet       | share_of_wallet_pct | 30    | 50     |
        | share_of_wallet       | share_of_wallet_pct | 75    | 100    |
        | customer_satisfaction | nps                 | -20   | 0      |
        | customer_satisfaction | nps                 | 20    | 50     |
        | customer_satisfaction | nps                 | 60    | 100    |

  Rule: Categories and yes/no facts: each value has its points

    Scenario Outline: <criterion> "<value>" earns <points> points
      Given an account "A-1" with:
        | fact   | value   |
        | <fact> | <value> |
      When the accounts are decided
      Then criterion "<criterion>" gives account "A-1" <points> points

      Examples:
        | criterion     | fact                  | value  | points |
        | credit_risk   | credit_risk           | low    | 100    |
        | credit_risk   | credit_risk           | medium | 60     |
        | credit_risk   | credit_risk           | high   | 20     |
        | credit_risk   | credit_risk           | severe | 0      |
        | joint_planning | shares_business_plans | yes    | 100    |
        | joint_planning | shares_business_plans | no     | 0      |

  Rule: Reach into the buying centre is computed from the contacts mapped

    20 points for each decision maker, executive sponsor or champion who is a mentor or a
    supporter, plus 5 points for every contact mapped, up to 100.

    Scenario Outline: <supporters> supportive key contacts among <contacts> contacts earn <points> points
      Given an account "A-1" with:
        | fact          | value |
        | strategic_fit | 4     |
      And account "A-1" has these contacts:
        | name | role     | stance     |
        | Ann  | <role 1> | <stance 1> |
        | Bob  | <role 2> | <stance 2> |
        | Cid  | <role 3> | <stance 3> |
      When the accounts are decided
      Then criterion "relationship_breadth" gives account "A-1" <points> points

      # 20 x supporters + 5 x contacts: 20 x 0 + 15 = 15; 20 x 1 + 15 = 35; 20 x 3 + 15 = 75
      Examples:
        | supporters | contacts | role 1         | stance 1  | role 2            | stance 2 | role 3   | stance 3  | points |
        | 0          | 3        | decision_maker | neutral   | user              | neutral  | champion | enemy     | 15     |
        | 1          | 3        | decision_maker | supporter | user              | mentor   | champion | enemy     | 35     |
        | 3          | 3        | decision_maker | supporter | executive_sponsor | mentor   | champion | supporter | 75     |

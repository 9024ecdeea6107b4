Feature: Selecting key accounts
  A company cannot treat every customer as a key account: the teams are only so large, not
  every customer wants that treatment, and our effort should go where our business targets
  say. So every account is scored on several weighted criteria, graded into a tier on that
  score, and placed in the portfolio matrix; a few explicit gates override the score.

  Every decision says why. The scenarios below are examples a key account director can read
  and check: each number in them was worked out by hand from the rules, and kamrules must
  decide exactly the same. Some use a small rulebook written out in the scenario, to make
  one point plainly; the others use the default rulebook in rules/.

  Rule: An account's score is the weighted mean of its criteria, so weights say what counts

    Each criterion turns a fact into 0 to 100 points; the score is
    sum(weight x points) / sum(weights). Here growth potential and strategic fit weigh
    twice as much as last year's revenue.

    Background:
      Given the rulebook:
        """
        rulebook: priorities
        version: "1"
        scorecards:
          - id: attractiveness
            title: Customer attractiveness
            criteria:
              - id: revenue
                title: Revenue with us
                weight: 20
                fact: account.annual_revenue
                bands:
                  - {at_least: 10_000_000, points: 100}
                  - {at_least: 2_000_000, points: 50}
              - id: growth_potential
                title: Growth potential
                weight: 40
                fact: account.growth_potential
                scale: {from: 1, to: 5}
              - id: strategic_fit
                title: Strategic fit
                weight: 40
                fact: account.strategic_fit
                scale: {from: 1, to: 5}
        tiers:
          - name: Key account
            min_score: 60
          - name: Standard
        """

    Scenario: Future growth and strategic fit outweigh last year's revenue
      Given these accounts:
        | account | annual_revenue | growth_potential | strategic_fit |
        | BIG     | 25,000,000     | 1                | 2             |
        | RISING  | 3,000,000      | 5                | 4             |
      When the accounts are decided
      # BIG:    (20 x 100 + 40 x 0   + 40 x 25) / 100 = 30.00
      # RISING: (20 x 50  + 40 x 100 + 40 x 75) / 100 = 80.00
      Then the decisions are:
        | account | attractiveness | tier        | key account |
        | BIG     | 30.00          | Standard    | no          |
        | RISING  | 80.00          | Key account | yes         |

    Scenario: The explanation shows how the score was made, criterion by criterion
      Given an account "RISING" with:
        | fact             | value     |
        | annual_revenue   | 3,000,000 |
        | growth_potential | 5         |
        | strategic_fit    | 4         |
      When the accounts are decided
      Then criterion "revenue" gives account "RISING" 50 points
      And criterion "growth_potential" gives account "RISING" 100 points
      And criterion "strategic_fit" gives account "RISING" 75 points
      And the explanation of account "RISING" says "Revenue with us 3,000,000 50 pts x 20 = 10.00"
      And the explanation of account "RISING" says "Growth potential 5 100 pts x 40 = 40.00"
      And the explanation of account "RISING" says "Strategic fit 4 75 pts x 40 = 30.00"
      And the explanation of account "RISING" says "Customer attractiveness: 80.00 (= 8000 weighted points / 100 weight)"

    Scenario Outline: Revenue bands: reaching a threshold earns its points, one below does not
      Given an account "A-1" with:
        | fact           | value     |
        | annual_revenue | <revenue> |
      When the accounts are decided
      Then criterion "revenue" gives account "A-1" <points> points
      And the explanation of account "A-1" says "<explanation>"

      Examples:
        | revenue    | points | explanation                                  |
        | 10,000,000 | 100    | at least 10,000,000                          |
        | 9,999,999  | 50     | at least 2,000,000                           |
        | 2,000,000  | 50     | at least 2,000,000                           |
        | 1,999,999  | 0      | below every band (lowest: at least 2,000,000) |

    Scenario Outline: Strategic fit earns points in proportion along its scale from 1 to 5
      Given an account "A-1" with:
        | fact          | value |
        | strategic_fit | <fit> |
      When the accounts are decided
      Then criterion "strategic_fit" gives account "A-1" <points> points

      Examples:
        | fit | points |
        | 1   | 0      |
        | 2   | 25     |
        | 4   | 75     |
        | 5   | 100    |

    Scenario: Compensation: a weak or missing criterion does not disqualify an account strong on the others
      Given these accounts:
        | account    | annual_revenue | growth_potential | strategic_fit |
        | SMALL      | 800,000        | 5                | 5             |
        | UNRECORDED |                | 5                | 5             |
      When the accounts are decided
      # Both: (20 x 0 + 40 x 100 + 40 x 100) / 100 = 80.00, above the 60 a key account needs
      Then the decisions are:
        | account    | attractiveness | tier        |
        | SMALL      | 80.00          | Key account |
        | UNRECORDED | 80.00          | Key account |
      And the explanation of account "UNRECORDED" says "missing: scored 0 points (policy: zero)"
      And the explanation of account "UNRECORDED" says "Missing evidence: account.annual_revenue"

  Rule: A missing fact follows the policy its criterion declares: zero, drop or error

    zero:  the criterion scores 0 points (no credit for what nobody entered; the default).
    drop:  the criterion is left out and the others share its weight.
    error: the account is not decided, and is listed to be fixed in the CRM.

    Scenario Outline: A new customer with no revenue recorded yet, when the policy is <policy>
      Given the rulebook:
        """
        rulebook: missing_revenue
        version: "1"
        scorecards:
          - id: attractiveness
            criteria:
              - id: revenue
                weight: 20
                fact: account.annual_revenue
                bands:
                  - {at_least: 10_000_000, points: 100}
                  - {at_least: 2_000_000, points: 50}
                missing: <policy>
              - id: growth_potential
                weight: 40
                fact: account.growth_potential
                scale: {from: 1, to: 5}
              - id: strategic_fit
                weight: 40
                fact: account.strategic_fit
                scale: {from: 1, to: 5}
        tiers:
          - name: Key account
            min_score: 60
          - name: Standard
        """
      And an account "NEW-1" with:
        | fact             | value |
        | growth_potential | 5     |
        | strategic_fit    | 4     |
      When the accounts are decided
      Then account "NEW-1" scores <score> on attractiveness
      And account "NEW-1" is in tier "Key account"
      And the explanation of account "NEW-1" says "<explanation>"

      # zero: (20 x 0 + 40 x 100 + 40 x 75) / 100 = 70.00
      # drop:          (40 x 100 + 40 x 75) / 80  = 87.50
      Examples:
        | policy | score | explanation                                                       |
        | zero   | 70.00 | missing: scored 0 points (policy: zero)                           |
        | drop   | 87.50 | missing: left out of the score (policy: drop, weight 20 not counted) |

    Scenario: With the policy error, the account is not decided, and the others still are
      Given the rulebook:
        """
        rulebook: revenue_required
        version: "1"
        scorecards:
          - id: attractiveness
            criteria:
              - id: revenue
                weight: 20
                fact: account.annual_revenue
                bands:
                  - {at_least: 10_000_000, points: 100}
                  - {at_least: 2_000_000, points: 50}
                missing: error
              - id: growth_potential
                weight: 40
                fact: account.growth_potential
                scale: {from: 1, to: 5}
              - id: strategic_fit
                weight: 40
                fact: account.strategic_fit
                scale: {from: 1, to: 5}
        tiers:
          - name: Key account
            min_score: 60
          - name: Standard
        """
      And these accounts:
        | account | annual_revenue | growth_potential | strategic_fit |
        | NEW-1   |                | 5                | 4             |
        | OLD-1   | 12,000,000     | 1                | 2             |
      When the accounts are decided
      Then account "NEW-1" could not be decided because "account.annual_revenue: is missing, and criterion 'revenue' cannot score without it"
      # OLD-1: (20 x 100 + 40 x 0 + 40 x 25) / 100 = 30.00
      And account "OLD-1" scores 30.00 on attractiveness
      And account "OLD-1" is in tier "Standard"

  Rule: Gates are the explicit exceptions to compensation

    A gate applies whatever the account scores. In the default rulebook: a customer who
    declines key-account treatment is never forced into it, severe credit risk excludes an
    account from the key tiers, and high credit risk caps it at Silver.

    Acme, as described here, scores 85.25 on attractiveness:
    revenue 15 x 80 + wallet 10 x 75 + margin 15 x 80 + growth 25 x 75 + fit 25 x 100
    + credit risk 10 x 100 = 8525, over a total weight of 100.

    Background:
      Given the default rulebook
      And an account "ACME" with:
        | fact                  | value           |
        | name                  | Acme Industrial |
        | annual_revenue        | 12,000,000      |
        | wallet_size           | 40,000,000      |
        | gross_margin_pct      | 34%             |
        | growth_potential      | 4               |
        | strategic_fit         | 5               |
        | credit_risk           | low             |
        | wants_key_account     | yes             |
        | relationship_strength | 4               |
        | share_of_wallet_pct   | 30%             |
        | competitive_position  | 4               |
        | nps                   | 40              |
        | shares_business_plans | yes             |
      And account "ACME" has these contacts:
        | name     | role           | stance    |
        | Ana Ruiz | decision_maker | supporter |
        | Tom Berg | user           | neutral   |

    Scenario: The customer who declines key-account treatment is never forced into it
      Given account "ACME" has:
        | wants_key_account | no |
      When the accounts are decided
      Then account "ACME" is not a key account
      And account "ACME" is in tier "Standard"
      And account "ACME" scores 85.25 on attractiveness
      And gate "declines_kam" applies to account "ACME"
      And the explanation of account "ACME" says "excluded from key-account tiers by gate 'declines_kam': The customer does not want key-account treatment"

    Scenario: When nobody has recorded the customer's wish, the gate does not apply and the gap is flagged
      Given account "ACME" has:
        | wants_key_account | |
      When the accounts are decided
      Then account "ACME" is in tier "Gold"
      And gate "declines_kam" does not apply to account "ACME"
      And the explanation of account "ACME" says "could not be decided because a fact is missing; not applied (missing: skip)"
      And the explanation of account "ACME" says "Missing evidence: account.wants_key_account"

    Scenario: Severe credit risk excludes the account from the key tiers, however well it scores
      Given account "ACME" has:
        | credit_risk | severe |
      When the accounts are decided
      # credit risk now earns 0 points: 8525 - 10 x 100 = 7525
      Then account "ACME" scores 75.25 on attractiveness
      And account "ACME" is in tier "Standard"
      And account "ACME" is not a key account
      And gate "severe_credit_risk" applies to account "ACME"
      And the explanation of account "ACME" says "excluded from key-account tiers by gate 'severe_credit_risk'"

    Scenario: High credit risk caps the account at Silver, and the explanation gives the reason
      Given account "ACME" has:
        | credit_risk | high |
      When the accounts are decided
      # credit risk now earns 20 points: 8525 - 10 x 100 + 10 x 20 = 7725, enough for Gold
      Then account "ACME" scores 77.25 on attractiveness
      And account "ACME" is in tier "Silver"
      And gate "high_credit_risk" applies to account "ACME"
      And the explanation of account "ACME" says "not Gold because gate 'high_credit_risk' applies: The customer's credit risk is rated high, so the account may hold at most Silver until credit control rates it medium or better."

    Scenario: A cap holds an account down but never lifts it
      Given account "ACME" has:
        | credit_risk      | high |
        | growth_potential | 2    |
        | strategic_fit    | 3    |
      When the accounts are decided
      # 15 x 80 + 10 x 75 + 15 x 80 + 25 x 25 + 25 x 45 + 10 x 20 = 5100
      Then account "ACME" scores 51.00 on attractiveness
      And account "ACME" is in tier "Bronze"
      And gate "high_credit_risk" applies to account "ACME"

    Scenario: Medium credit risk costs points but is no gate
      Given account "ACME" has:
        | credit_risk | medium |
      When the accounts are decided
      # 8525 - 10 x 100 + 10 x 60 = 8125
      Then account "ACME" scores 81.25 on attractiveness
      And account "ACME" is in tier "Gold"
      And gate "high_credit_risk" does not apply to account "ACME"
      And gate "severe_credit_risk" does not apply to account "ACME"

  Rule: Tiers are graded on the score: exactly at a threshold reaches the tier

    In this small rulebook the only criterion is the gross margin, scaled so that the score
    equals the margin. The tiers are those of the default rulebook: Gold from 75, Silver
    from 60, Bronze from 45; the last tier, Standard, is the default every other account
    falls to, and the only one that is not a key account.

    Background:
      Given the rulebook:
        """
        rulebook: thresholds
        version: "1"
        scorecards:
          - id: attractiveness
            criteria:
              - id: margin
                title: Gross margin
                weight: 1
                fact: account.gross_margin_pct
                scale: {from: 0, to: 100}
        tiers:
          - {name: Gold, min_score: 75}
          - {name: Silver, min_score: 60}
          - {name: Bronze, min_score: 45}
          - {name: Standard}
        """

    Scenario Outline: An account scoring <score> is in tier <tier>
      Given an account "M-1" with:
        | fact             | value    |
        | gross_margin_pct | <margin> |
      When the accounts are decided
      Then the decisions are:
        | account | attractiveness | tier   | key account |
        | M-1     | <score>        | <tier> | <key>       |

      Examples:
        | margin | score | tier     | key |
        | 75     | 75.00 | Gold     | yes |
        | 74.99  | 74.99 | Silver   | yes |
        | 60     | 60.00 | Silver   | yes |
        | 59.99  | 59.99 | Bronze   | yes |
        | 45     | 45.00 | Bronze   | yes |
        | 44.99  | 44.99 | Standard | no  |

    Scenario: Every account gets a tier: the last tier is the default
      Given an account "M-0" with:
        | fact             | value |
        | gross_margin_pct | 0     |
      When the accounts are decided
      Then account "M-0" is in tier "Standard"
      And account "M-0" is not a key account
      And the explanation of account "M-0" says "Standard: attractiveness score 0.00; not Bronze because the attractiveness score 0.00 is below 45"
      And the explanation of account "M-0" says "Standard eligible (the default tier)"

  Rule: A tier may ask for more than a score, and the explanation says what was missing

    In the default rulebook, Gold also requires a strategic fit of 4 or 5 and a score of at
    least 40 on our relative strength. Acme scores 85.25 on attractiveness (see the gates
    above) and 64.75 on strength:
    relationship 25 x 80 + share of wallet 20 x 50 + competitive position 15 x 75
    + satisfaction 10 x 75 + joint planning 10 x 100 + reach 20 x 30 = 6475, over 100;
    reach is 20 points for the supporting decision maker and 5 for each of two contacts.

    Background:
      Given the default rulebook
      And the decision date is 2026-11-01
      And an account "ACME" with:
        | fact                  | value           |
        | name                  | Acme Industrial |
        | annual_revenue        | 12,000,000      |
        | wallet_size           | 40,000,000      |
        | gross_margin_pct      | 34%             |
        | growth_potential      | 4               |
        | strategic_fit         | 5               |
        | credit_risk           | low             |
        | wants_key_account     | yes             |
        | relationship_strength | 4               |
        | share_of_wallet_pct   | 30%             |
        | competitive_position  | 4               |
        | nps                   | 40              |
        | shares_business_plans | yes             |
      And account "ACME" has these contacts:
        | name     | role           | stance    |
        | Ana Ruiz | decision_maker | supporter |
        | Tom Berg | user           | neutral   |

    Scenario: An attractive customer that fits our strategy, where we are strong, is Gold
      When the accounts are decided
      Then account "ACME" is in tier "Gold"
      And account "ACME" is a key account
      And account "ACME" scores 85.25 on attractiveness
      And account "ACME" scores 64.75 on strength
      And criterion "relationship_breadth" gives account "ACME" 30 points
      And the explanation of account "ACME" says "Gold eligible"
      And the explanation of account "ACME" says "Strategic fit 5 100 pts x 25 = 25.00"
      And the explanation of account "ACME" says "Decided as of 2026-11-01 by rulebook default_kam 2026.11"

    Scenario: Gold is reserved for customers with a strategic fit of 4 or 5
      Given account "ACME" has:
        | strategic_fit    | 3 |
        | growth_potential | 5 |
      When the accounts are decided
      # 15 x 80 + 10 x 75 + 15 x 80 + 25 x 100 + 25 x 45 + 10 x 100 = 7775: enough points for Gold
      Then account "ACME" scores 77.75 on attractiveness
      And account "ACME" is in tier "Silver"
      And the explanation of account "ACME" says "Silver: attractiveness score 77.75; not Gold because Gold is reserved for customers with a strategic fit of 4 or 5"

    Scenario: An attractive customer where we are weak is a Star, served as Silver until our position is built
      Given account "ACME" has:
        | relationship_strength | 2  |
        | share_of_wallet_pct   | 6% |
        | competitive_position  | 2  |
        | nps                   | 0  |
        | shares_business_plans | no |
      When the accounts are decided
      # 25 x 25 + 20 x 10 + 15 x 25 + 10 x 25 + 10 x 0 + 20 x 30 = 2050
      Then account "ACME" scores 20.50 on strength
      And account "ACME" is in tier "Silver"
      And account "ACME" is in segment "Star"
      And the explanation of account "ACME" says "not Gold because the strength score 20.50 is below 40"

  Rule: Segments place every account in the matrix of attractiveness against our strength

    Strategic: attractiveness 60 or more and strength 50 or more; Star: attractive, but we
    are weaker; Status: we are strong, but the customer is less attractive; Streamline: the
    rest. Segments are tried in that order, and the first that holds is the account's.

    Scenario: One account in each segment of the default rulebook
      Given the default rulebook
      And these accounts:
        | account  | annual_revenue | wallet_size | gross_margin_pct | growth_potential | strategic_fit | credit_risk | relationship_strength | share_of_wallet_pct | competitive_position | shares_business_plans |
        | STRAT-1  | 12,000,000     | 40,000,000  | 34               | 4                | 5             | low         | 5                     | 60                  | 5                    | yes                   |
        | STAR-1   | 12,000,000     | 40,000,000  | 34               | 4                | 5             | low         | 2                     | 6                   | 2                    | no                    |
        | STATUS-1 | 3,000,000      | 5,000,000   | 19               | 2                | 3             | medium      | 5                     | 60                  | 5                    | yes                   |
        | STREAM-1 | 3,000,000      | 5,000,000   | 19               | 2                | 3             | medium      | 2                     | 6                   | 2                    | no                    |
      When the accounts are decided
      # attractiveness, high: 15 x 80 + 10 x 75 + 15 x 80 + 25 x 75 + 25 x 100 + 10 x 100 = 8525
      #                 low:  15 x 40 + 10 x 25 + 15 x 30 + 25 x 25 + 25 x 45  + 10 x 60  = 3650
      # strength, with no NPS (left out: weight 90) and no contacts mapped (reach 0 points):
      #                 high: (25 x 100 + 20 x 100 + 15 x 100 + 10 x 100 + 20 x 0) / 90 = 77.777..., shown rounded down as 77.77 (a shown score never crosses a threshold)
      #                 low:  (25 x 25  + 20 x 10  + 15 x 25  + 10 x 0   + 20 x 0) / 90 = 13.33
      Then the decisions are:
        | account  | attractiveness | strength | segment    | tier     |
        | STRAT-1  | 85.25          | 77.77    | Strategic  | Gold     |
        | STAR-1   | 85.25          | 13.33    | Star       | Silver   |
        | STATUS-1 | 36.50          | 77.77    | Status     | Standard |
        | STREAM-1 | 36.50          | 13.33    | Streamline | Standard |

    Scenario Outline: At exactly 60 a customer is attractive, at exactly 50 we are strong
      Given the rulebook:
        """
        rulebook: matrix
        version: "1"
        scorecards:
          - id: attractiveness
            criteria:
              - id: margin
                weight: 1
                fact: account.gross_margin_pct
                scale: {from: 0, to: 100}
          - id: strength
            criteria:
              - id: share_of_wallet
                weight: 1
                fact: account.share_of_wallet_pct
                scale: {from: 0, to: 100}
        tiers:
          - name: Standard
        segments:
          - name: Strategic
            when: score.attractiveness >= 60 and score.strength >= 50
          - name: Star
            when: score.attractiveness >= 60
          - name: Status
            when: score.strength >= 50
          - name: Streamline
        """
      And an account "X-1" with:
        | fact                | value            |
        | gross_margin_pct    | <attractiveness> |
        | share_of_wallet_pct | <strength>       |
      When the accounts are decided
      Then account "X-1" is in segment "<segment>"

      Examples:
        | attractiveness | strength | segment    |
        | 60             | 50       | Strategic  |
        | 60             | 49.99    | Star       |
        | 59.99          | 50       | Status     |
        | 59.99          | 49.99    | Streamline |

  Rule: Every decision is explained, including what nobody has recorded

    Scenario: An account with few facts recorded is still decided, and the gaps are listed
      Given the default rulebook
      And the decision date is 2026-11-01
      And an account "SPARSE" with:
        | fact              | value     |
        | annual_revenue    | 5,000,000 |
        | strategic_fit     | 4         |
        | credit_risk       | low       |
        | wants_key_account | yes       |
      When the accounts are decided
      # 15 x 60 + 25 x 75 + 10 x 100 = 3775; the missing facts score 0 (policy: zero)
      Then account "SPARSE" scores 37.75 on attractiveness
      And account "SPARSE" scores 0 on strength
      And account "SPARSE" is in tier "Standard"
      And account "SPARSE" is in segment "Streamline"
      And the explanation of account "SPARSE" says "Standard: attractiveness score 37.75; not Bronze because the attractiveness score 37.75 is below 45"
      And the explanation of account "SPARSE" says "Revenue with us 5,000,000 60 pts x 15 = 9.00"
      And the explanation of account "SPARSE" says "at least 5,000,000 (5M to 10M)"
      And the explanation of account "SPARSE" says "Missing evidence: account.competitive_position, account.gross_margin_pct, account.growth_potential, account.nps, account.relationship_strength, account.share_of_wallet_pct, account.shares_business_plans, account.wallet_size"
      And the explanation of account "SPARSE" says "Decided as of 2026-11-01 by rulebook default_kam 2026.11"

  Rule: A mistake in a rule file is reported with its line, what is wrong and a likely fix

    Scenario: The default rulebook loads
      Given the default rulebook
      When the rulebook is loaded
      Then the rulebook loads

    Scenario: A misspelt key
      Given the rulebook:
        """
        rulebook: misspelt
        version: "1"
        scorecards:
          - id: attractiveness
            criteria:
              - id: revenue
                wieght: 20
                fact: account.annual_revenue
                bands:
                  - {at_least: 10_000_000, points: 100}
        tiers:
          - name: Standard
        """
      When the rulebook is loaded
      Then loading the rulebook fails at line 7 because "unknown key 'wieght' in criterion 'revenue' (did you mean 'weight'?)"

    Scenario: A misspelt fact, and a misspelt value of a fact
      Given the rulebook:
        """
        rulebook: misspelt_fact
        version: "1"
        scorecards:
          - id: attractiveness
            criteria:
              - id: revenue
                weight: 20
                fact: account.anual_revenue
                bands:
                  - {at_least: 10_000_000, points: 100}
        gates:
          - id: high_credit_risk
            when: account.credit_risk == 'hihg'
            effect: exclude
            reason: High credit risk.
        tiers:
          - name: Standard
        """
      When the rulebook is loaded
      Then loading the rulebook fails at line 8 because "account has no fact 'anual_revenue' (did you mean 'annual_revenue'?)"
      And loading the rulebook fails at line 13 because "'hihg' is not a credit risk value (low, medium, high, severe) (did you mean 'high'?)"

    Scenario: A gate that caps at a tier that does not exist
      Given the rulebook:
        """
        rulebook: missing_tier
        version: "1"
        scorecards:
          - id: attractiveness
            criteria:
              - id: revenue
                weight: 20
                fact: account.annual_revenue
                bands:
                  - {at_least: 10_000_000, points: 100}
        gates:
          - id: high_credit_risk
            when: account.credit_risk == 'high'
            effect: cap
            at_most: Silvr
            reason: High credit risk.
        tiers:
          - {name: Gold, min_score: 80}
          - {name: Silver, min_score: 60}
          - {name: Standard}
        """
      When the rulebook is loaded
      Then loading the rulebook fails at line 15 because "gate 'high_credit_risk' caps at the tier 'Silvr', which does not exist (did you mean 'Silver'?)"

    Scenario: Bands and tiers must be listed best first
      Given the rulebook:
        """
        rulebook: out_of_order
        version: "1"
        scorecards:
          - id: attractiveness
            criteria:
              - id: revenue
                weight: 20
                fact: account.annual_revenue
                bands:
                  - {at_least: 2_000_000, points: 50}
                  - {at_least: 10_000_000, points: 100}
        tiers:
          - {name: Silver, min_score: 60}
          - {name: Gold, min_score: 75}
          - {name: Standard}
        """
      When the rulebook is loaded
      Then loading the rulebook fails at line 11 because "bands out of order; list them highest first (at_least 10,000,000 comes after 2,000,000)"
      And loading the rulebook fails at line 14 because "tiers out of order: 'Gold' (min_score 75) is listed below 'Silver' (min_score 60); list tiers best first"

    Scenario: A version that YAML would read as a number
      Given the rulebook:
        """
        rulebook: unquoted_version
        version: 2026.10
        scorecards:
          - id: attractiveness
            criteria:
              - id: revenue
                weight: 20
                fact: account.annual_revenue
                bands:
                  - {at_least: 10_000_000, points: 100}
        tiers:
          - name: Standard
        """
      When the rulebook is loaded
      Then loading the rulebook fails at line 2 because "put it in quotes: YAML reads 2026.1 as a number"

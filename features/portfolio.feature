Feature: Deciding a portfolio: tier capacity, stability and overrides
  The rules grade each account on its own. A portfolio adds three things the rules alone
  cannot know: how many accounts each tier's team can serve (capacity), what tier an account
  holds today (stability, because key account management is long-term), and the exceptions
  a policy owner has approved (overrides). The accounts of a scenario are decided together,
  as a run over a CRM export decides them, so capacity ranks them against each other.

  The rulebook below keeps the arithmetic out of the way: its only criterion is the gross
  margin, scaled so that the score equals the margin (a margin of 82 scores 82.00). Gold
  takes accounts from 75, Silver from 60, Bronze from 45; Standard takes the rest.

  Background:
    Given the rulebook:
      """
      rulebook: portfolio
      version: "1"
      scorecards:
        - id: attractiveness
          criteria:
            - id: margin
              title: Gross margin
              weight: 1
              fact: account.gross_margin_pct
              scale: {from: 0, to: 100}
      tie_breakers:
        - {by: account.annual_revenue, order: descending}
      tiers:
        - {name: Gold, min_score: 75, capacity: 2}
        - {name: Silver, min_score: 60, capacity: "50%", capacity_per_manager: 2}
        - {name: Bronze, min_score: 45}
        - {name: Standard}
      """
    And the decision date is 2026-11-01

  Rule: A tier takes as many accounts as its team can serve, best ranked first; the overflow falls to the next tier

    Accounts are ranked by score, best first; equal scores by the rulebook's tie-breakers
    (here: revenue, highest first), then by account id, so the order never depends on the
    order of the export. Every account of a tier with a capacity is told where it ranked.

    Scenario: Gold holds two accounts: the third and fourth best fall to Silver
      Given these accounts:
        | account | gross_margin_pct |
        | A       | 90               |
        | B       | 85               |
        | C       | 80               |
        | D       | 78               |
      When the accounts are decided
      # All four reach Gold's 75. Gold takes the two best, A (90) and B (85).
      # Silver holds 50% of the 4 accounts decided: 2, so C and D both fit there.
      Then the tiers are:
        | account | tier   |
        | A       | Gold   |
        | B       | Gold   |
        | C       | Silver |
        | D       | Silver |
      And tier "Gold" holds 2 accounts
      And the rules alone put account "C" in tier "Gold"
      And the placement of account "A" says "ranked 1st of 4 eligible for Gold, capacity 2"
      And the placement of account "C" says "ranked 3rd of 4 eligible for Gold, capacity 2: the tier is full, so it falls to Silver"
      And the placement of account "C" says "ranked 1st of 2 eligible for Silver, capacity 2"
      And the placement of account "D" says "ranked 4th of 4 eligible for Gold, capacity 2: the tier is full, so it falls to Silver"
      And the explanation of account "C" says "Silver: attractiveness score 80.00; ranked 3rd of 4 eligible for Gold, capacity 2: the tier is full, so it falls to Silver"

    Scenario: A share of the portfolio is rounded down
      Given these accounts:
        | account | gross_margin_pct |
        | A       | 70               |
        | B       | 68               |
        | C       | 66               |
        | D       | 64               |
        | E       | 62               |
      When the accounts are decided
      # Silver holds 50% of the 5 accounts decided: 2.5, rounded down to 2. C, D and E
      # fall to Bronze, which has no capacity and takes all three.
      Then the tiers are:
        | account | tier   |
        | A       | Silver |
        | B       | Silver |
        | C       | Bronze |
        | D       | Bronze |
        | E       | Bronze |
      And the placement of account "C" says "ranked 3rd of 5 eligible for Silver, capacity 2: the tier is full, so it falls to Bronze"
      And the placement of account "E" says "ranked 5th of 5 eligible for Silver, capacity 2: the tier is full, so it falls to Bronze"

    Scenario: Overflow from Gold competes again in Silver, and may fall further
      Given these accounts:
        | account | gross_margin_pct |
        | A       | 95               |
        | B       | 90               |
        | C       | 85               |
        | D       | 80               |
        | E       | 70               |
        | F       | 65               |
      When the accounts are decided
      # Gold takes A and B. C and D fall to Silver, where E and F already are.
      # Silver holds 50% of 6 = 3: C (85), D (80), E (70) in that order; F (65) falls to Bronze.
      Then the tiers are:
        | account | tier   |
        | A       | Gold   |
        | B       | Gold   |
        | C       | Silver |
        | D       | Silver |
        | E       | Silver |
        | F       | Bronze |
      And the placement of account "D" says "ranked 2nd of 4 eligible for Silver, capacity 3"
      And the placement of account "F" says "ranked 4th of 4 eligible for Silver, capacity 3: the tier is full, so it falls to Bronze"

    Scenario: Equal scores are ordered by the tie-breaker, then by account id
      Given these accounts:
        | account | gross_margin_pct | annual_revenue |
        | Z       | 80               | 1,000,000      |
        | Y       | 80               | 5,000,000      |
        | X       | 80               | 1,000,000      |
      When the accounts are decided
      # All three score 80.00. Revenue first: Y (5M) ranks 1st. X and Z tie on revenue too,
      # so the account id decides: X before Z. Gold takes Y and X.
      Then the tiers are:
        | account | tier   |
        | Y       | Gold   |
        | X       | Gold   |
        | Z       | Silver |
      And the placement of account "X" says "ranked 2nd of 3 eligible for Gold, capacity 2"
      And the placement of account "Z" says "ranked 3rd of 3 eligible for Gold, capacity 2: the tier is full, so it falls to Silver"

    Scenario: An account whose tie-breaker fact is missing ranks after those that have it
      Given these accounts:
        | account | gross_margin_pct | annual_revenue |
        | A       | 80               |                |
        | B       | 80               | 200,000        |
        | C       | 80               | 100,000        |
      When the accounts are decided
      # Equal scores; revenue highest first, and a missing revenue last: B, C, then A.
      Then the tiers are:
        | account | tier   |
        | B       | Gold   |
        | C       | Gold   |
        | A       | Silver |

    Scenario: No account manager holds more Silver accounts than the team can give attention to
      Given these accounts:
        | account | gross_margin_pct | account_manager |
        | K-1     | 70               | Kim             |
        | K-2     | 68               | Kim             |
        | K-3     | 66               | Kim             |
        | L-1     | 64               | Lee             |
        | S-1     | 30               | Lee             |
        | S-2     | 30               | Lee             |
      When the accounts are decided
      # Silver holds 50% of 6 = 3 accounts, and at most 2 per account manager.
      # K-1 and K-2 take Kim's two; K-3 ranks 3rd and a place is free, but Kim is full, so
      # it falls to Bronze; L-1 (4th) takes the free place.
      Then the tiers are:
        | account | tier     |
        | K-1     | Silver   |
        | K-2     | Silver   |
        | K-3     | Bronze   |
        | L-1     | Silver   |
        | S-1     | Standard |
      And the placement of account "K-3" says "ranked 3rd of 4 eligible for Silver, capacity 3: Kim already has 2 Silver accounts, the most per manager, so it falls to Bronze"
      And the placement of account "L-1" says "ranked 4th of 4 eligible for Silver, capacity 3"

    Scenario: A tier without a capacity takes every account that reaches it, and ranks none
      Given an account "A" with:
        | gross_margin_pct | 50 |
      When the accounts are decided
      Then account "A" is in tier "Bronze"
      And account "A" is in the tier the rules alone give
      And the explanation of account "A" says "Bronze: attractiveness score 50.00; not Silver because the attractiveness score 50.00 is below 60"

  Rule: Key account management is long-term: a stability margin keeps tiers from flipping on small score changes

    With a stability margin of 3 points, an account keeps the tier it holds today (its
    current_tier) until its score passes the threshold it is near by more than 3 points:
    a Gold account (Gold from 75) stays Gold down to 72; a Silver account moves up to Gold
    only from 78.

    Background:
      Given the rulebook:
        """
        rulebook: stable
        version: "1"
        scorecards:
          - id: attractiveness
            criteria:
              - id: margin
                weight: 1
                fact: account.gross_margin_pct
                scale: {from: 0, to: 100}
        stability: {margin: 3}
        tiers:
          - {name: Gold, min_score: 75}
          - {name: Silver, min_score: 60}
          - {name: Bronze, min_score: 45}
          - {name: Standard}
        """

    Scenario Outline: A <current> account scoring <score> is held, or moved only as far as the margin allows
      Given an account "S-1" with:
        | fact             | value     |
        | gross_margin_pct | <score>   |
        | current_tier     | <current> |
      When the accounts are decided
      Then account "S-1" is in tier "<tier>"
      And the rules alone put account "S-1" in tier "<rules>"
      And the placement of account "S-1" says "<placement>"

      # Gold 72.00: 75 - 3 = 72 is still within the margin, so it is held at Gold.
      # Silver 77.99: moving up needs 75 + 3 = 78.
      # Standard 76.00: the rules give Gold, but Gold needs 78; Silver needs 60 + 3 = 63,
      # which 76 passes, so the account moves up to Silver only.
      # Bronze 44.00: Bronze from 45 - 3 = 42, so it is held at Bronze.
      Examples:
        | current  | score | tier   | rules    | placement                                                                                                             |
        | Gold     | 72    | Gold   | Silver   | held at Gold: the score is below its thresholds by less than the stability margin of 3 points (the rules alone give Silver) |
        | Silver   | 77.99 | Silver | Gold     | held at Silver: moving up to Gold needs its thresholds passed by the stability margin of 3 points                     |
        | Standard | 76    | Silver | Gold     | moved up to Silver only: Gold needs its thresholds passed by the stability margin of 3 points                         |
        | Bronze   | 44    | Bronze | Standard | held at Bronze: the score is below its thresholds by less than the stability margin of 3 points (the rules alone give Standard) |

    Scenario Outline: Past the margin, a <current> account scoring <score> goes where the rules put it
      Given an account "S-1" with:
        | fact             | value     |
        | gross_margin_pct | <score>   |
        | current_tier     | <current> |
      When the accounts are decided
      Then account "S-1" is in tier "<tier>"
      And account "S-1" is in the tier the rules alone give

      # Gold 71.99 is more than 3 points below 75; Silver 78 is 3 points above 75.
      Examples:
        | current | score | tier   |
        | Gold    | 71.99 | Silver |
        | Silver  | 78    | Gold   |
        | Silver  | 65    | Silver |

    Scenario: A current tier the rulebook does not know is named in the explanation, and no margin applies
      Given an account "S-1" with:
        | fact             | value |
        | gross_margin_pct | 76    |
        | current_tier     | Gld   |
      When the accounts are decided
      Then account "S-1" is in tier "Gold"
      And the placement of account "S-1" says "the current tier 'Gld' is not a tier of this rulebook, so no stability margin applies (did you mean 'Gold'?)"

  Rule: An override pins an account to a tier, with a reason, an approver and an end date

    A policy owner may pin an account to a tier the rules would not give it (a strategic
    partner, a customer in trouble). The override is four facts of the account:
    override_tier, override_reason, override_approver and override_expires (the last day
    it applies). It counts against the tier's capacity, and it ends by itself.

    Background:
      Given these accounts:
        | account | gross_margin_pct | override_tier | override_reason   | override_approver | override_expires |
        | P       | 10               | Gold          | strategic partner | KAM director      | 2027-03-31       |
        | B       | 95               |               |                   |                   |                  |
        | C       | 90               |               |                   |                   |                  |

    Scenario: An override pins the account, and takes one of the tier's places
      When the accounts are decided
      # P scores 10.00 (Standard by the rules) but is pinned to Gold. Gold holds 2: P's pin
      # takes one place, B (95) the other; C (90) ranks 3rd of the 3 Gold accounts and falls.
      Then the tiers are:
        | account | tier   |
        | P       | Gold   |
        | B       | Gold   |
        | C       | Silver |
      And the rules alone put account "P" in tier "Standard"
      And the placement of account "P" says "pinned to Gold by override until 2027-03-31, approved by KAM director: strategic partner"
      And the placement of account "C" says "ranked 3rd of 3 eligible for Gold, capacity 2: the tier is full, so it falls to Silver"

    Scenario Outline: The override ends by itself: on <date> account "P" is in <tier>
      Given the decision date is <date>
      When the accounts are decided
      Then account "P" is in tier "<tier>"
      And the placement of account "P" says "<placement>"

      # The override applies up to and including its last day, 31 March 2027.
      Examples:
        | date       | tier     | placement                                                     |
        | 2027-03-31 | Gold     | pinned to Gold by override until 2027-03-31                   |
        | 2027-04-01 | Standard | the override to Gold expired on 2027-03-31; the rules decide |

    Scenario Outline: An override that names no tier of the rulebook, or lacks its <missing>, is an error for that account
      Given account "P" has:
        | <fact> | <value> |
      When the accounts are decided
      Then account "P" could not be decided because "<reason>"
      And account "B" is in tier "Gold"

      Examples:
        | missing  | fact              | value | reason                                                                   |
        | tier     | override_tier     | Gld   | override_tier: 'Gld' is not a tier of this rulebook; did you mean 'Gold'? |
        | reason   | override_reason   |       | override_reason: an override needs a reason, an approver and an expiry date |
        | approver | override_approver |       | override_approver: an override needs a reason, an approver and an expiry date |
        | end date | override_expires  |       | override_expires: an override needs a reason, an approver and an expiry date |

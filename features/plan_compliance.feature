Feature: Account plan compliance
  Selecting a key account is a promise: a named team, a written account plan the team has
  agreed to, a mentor who reviews it every month or two, and relationships that are mapped
  and looked after. The plan checks of the default rulebook (rules/plan_checks.yaml and
  rules/relationships.yaml) test that promise for every key account, and tell the key
  account manager what is missing, who acts and by when.

  What a complete plan must show depends on the stage of the relationship (pre-sales,
  contract negotiation, implementation and delivery, review, exploitation) and on the tier.
  A failed blocker makes the plan non compliant, a failed major puts it at risk, a failed
  minor is a finding to fix. "Within 60 days" is counted from the decision date.

  Acme, below, is a Gold account (attractiveness 85.25, see selection.feature; strength
  65.75) in the exploitation stage, with a complete and current plan. Each scenario changes
  one thing about it.

  Background:
    Given the default rulebook
    And the decision date is 2026-11-01
    And an account "ACME" with:
      | fact                  | value           |
      | name                  | Acme Industrial |
      | account_manager       | Kim Lund        |
      | stage                 | exploitation    |
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
    And account "ACME" has these team members:
      | name      | role                |
      | Kim Lund  | key account manager |
      | Raj Patel | service             |
      | Eva Stone | technical           |
    And account "ACME" has these contacts:
      | id | name     | role           | level             | department  | stance    | influence | owner     | last_contacted |
      | C1 | Ana Ruiz | decision_maker | executive         | Operations  | supporter | 5         | Kim Lund  | 2026-10-20     |
      | C2 | Tom Berg | user           | operational       | Maintenance | neutral   | 2         | Raj Patel | 2026-10-05     |
      | C3 | Lia Chen | specifier      | middle_management | Engineering | supporter | 3         | Eva Stone | 2026-09-28     |
    And account "ACME" has these relationships:
      | member    | contact | strength | last_contact |
      | Kim Lund  | C1      | 5        | 2026-10-20   |
      | Eva Stone | C1      | 3        | 2026-10-02   |
      | Raj Patel | C2      | 4        | 2026-10-05   |
      | Eva Stone | C3      | 4        | 2026-09-28   |
    And account "ACME" has a plan with:
      | fact                   | value                                       |
      | owner                  | Kim Lund                                    |
      | status                 | active                                      |
      | version                | 3                                           |
      | mentor                 | Maria Holt                                  |
      | buying_process         | Tenders above 500k; the COO signs           |
      | buying_process_updated | 2026-03-01                                  |
      | financial_requirements | 60 days net; consolidated monthly invoice   |
      | legal_requirements     | Acme purchasing terms 2025; ISO 9001        |
      | business_policies      | Margin floor 28%; discounts above 10% by VP |
      | order_processing       | EDI orders, confirmed within 24 hours       |
      | development_plan       | Second plant in 2027, then the Polish sites |
      | revenue_target         | 14,000,000                                  |
      | margin_target_pct      | 33                                          |
      | actuals_updated        | 2026-10-15                                  |
    And account "ACME" has these objectives:
      | title                   | owner     | due        | status   |
      | Win the second plant    | Kim Lund  | 2027-06-30 | on_track |
      | Cut lead time to 5 days | Raj Patel | 2026-09-30 | done     |
    And account "ACME" has these customer objectives:
      | description              | updated    |
      | Expand to Poland         | 2026-09-01 |
      | Halve energy use by 2030 | 2026-07-15 |
    And account "ACME" has these competitors:
      | name     | position | assessed   |
      | Rival AG | strong   | 2026-08-20 |
      | Oldco    | exited   | 2025-01-10 |
    And account "ACME" has these service metrics:
      | name             | target | actual | measured   |
      | on-time delivery | 98     | 97.5   | 2026-10-31 |
    And account "ACME" has these growth opportunities:
      | title                | value   | identified |
      | Spare parts contract | 800,000 | 2026-05-10 |
    And account "ACME" has these management feedback:
      | date       | summary                              |
      | 2026-09-15 | The sector grows 8% a year in Poland |
    And account "ACME" has these plan reviews:
      | date       | kind   | reviewer   | version |
      | 2026-10-01 | mentor | Maria Holt | 3       |
      | 2026-09-10 | joint  | Acme's COO | 3       |
    And account "ACME" has these sign-offs:
      | member    | version | date       |
      | Kim Lund  | 3       | 2026-08-01 |
      | Raj Patel | 3       | 2026-08-02 |
      | Eva Stone | 3       | 2026-08-03 |

  Rule: A complete, current plan passes every check that applies to its stage and tier

    Scenario: The complete plan of a Gold account in exploitation
      When the accounts are decided
      Then account "ACME" is in tier "Gold"
      And account "ACME" scores 65.75 on strength
      # strength: 25 x 80 + 20 x 50 + 15 x 75 + 10 x 75 + 10 x 100 + 20 x 35 = 6575; reach is
      # 20 for the supporting decision maker and 5 for each of the three contacts.
      And the plan of account "ACME" is compliant
      And the plan of account "ACME" scores 100
      And the relationship map of account "ACME" has status 3
      # 27 checks apply to Gold in exploitation; the three for Silver and Bronze do not.
      And the plan checks of account "ACME" are:
        | check                            | result         |
        | plan_in_place                    | passes         |
        | plan_agreed                      | passes         |
        | plan_signed_by_team              | passes         |
        | objectives_owned_and_on_schedule | passes         |
        | customer_objectives_confirmed    | passes         |
        | buying_process_documented        | passes         |
        | competitor_activity_assessed     | passes         |
        | business_objectives_and_policies | passes         |
        | financial_legal_requirements     | passes         |
        | revenue_margin_targets           | passes         |
        | development_plan                 | passes         |
        | plan_against_actual              | passes         |
        | growth_opportunities             | passes         |
        | order_processing_and_service     | passes         |
        | mentor_independent               | passes         |
        | mentor_review_gold               | passes         |
        | mentor_review_silver_bronze      | does not apply |
        | joint_review_gold                | passes         |
        | joint_review_silver              | does not apply |
        | joint_review_bronze              | does not apply |
        | management_feedback              | passes         |
        | decision_makers_covered          | passes         |
        | executive_sponsor                | passes         |
        | supportive_key_player            | passes         |
        | levels_and_departments           | passes         |
        | key_players_owned                | passes         |
        | opponents_mitigated              | passes         |
        | key_players_in_touch             | passes         |
        | no_single_threading              | passes         |
        | restrictions_respected           | passes         |

    Scenario: Each check says when it next falls due, and the plan falls due with the earliest
      When the accounts are decided
      # mentor review       2026-10-01 + 60 days  = 2026-11-30
      # joint review        2026-09-10 + 100 days = 2026-12-19
      # customer objectives the oldest confirmed, 2026-07-15, + 180 days = 2027-01-11
      # plan against actual 2026-10-15 + 90 days  = 2027-01-13
      # key players         Ana Ruiz contacted 2026-10-20, + 90 days = 2027-01-18
      # competitors         Rival AG assessed 2026-08-20, + 180 days = 2027-02-16 (Oldco has exited)
      # buying process      2026-03-01 + 365 days = 2027-03-01
      # management feedback 2026-09-15 + 180 days = 2027-03-14
      # objectives          the open one is due 2027-06-30 (the done one does not count)
      Then check "mentor_review_gold" of account "ACME" falls due on 2026-11-30
      And check "joint_review_gold" of account "ACME" falls due on 2026-12-19
      And check "customer_objectives_confirmed" of account "ACME" falls due on 2027-01-11
      And check "plan_against_actual" of account "ACME" falls due on 2027-01-13
      And check "key_players_in_touch" of account "ACME" falls due on 2027-01-18
      And check "competitor_activity_assessed" of account "ACME" falls due on 2027-02-16
      And check "buying_process_documented" of account "ACME" falls due on 2027-03-01
      And check "management_feedback" of account "ACME" falls due on 2027-03-14
      And check "objectives_owned_and_on_schedule" of account "ACME" falls due on 2027-06-30
      And the plan of account "ACME" falls due next on 2026-11-30

  Rule: What a plan must show grows with the stage of the relationship

    In pre-sales the plan is a draft with the customer's objectives, buying process and
    competitors; from contract negotiation on it is agreed and signed by the team, holds
    the customer's financial and legal requirements and our targets, and a key player
    supports us; once we deliver it covers order processing and service; in review and
    exploitation it is measured against actuals, reviewed jointly with the customer and
    mined for growth. In the default rulebook no check stops applying at a later stage:
    the plan only grows.

    Scenario Outline: At stage <stage> the plan is checked for what that stage needs
      Given account "ACME" has:
        | stage | <stage> |
      When the accounts are decided
      Then the plan checks of account "ACME" are:
        | check                        | result        |
        | plan_in_place                | passes        |
        | mentor_review_gold           | passes        |
        | plan_agreed                  | <negotiation> |
        | plan_signed_by_team          | <negotiation> |
        | financial_legal_requirements | <negotiation> |
        | revenue_margin_targets       | <negotiation> |
        | development_plan             | <negotiation> |
        | supportive_key_player        | <negotiation> |
        | levels_and_departments       | <negotiation> |
        | no_single_threading          | <negotiation> |
        | order_processing_and_service | <delivery>    |
        | plan_against_actual          | <review>      |
        | growth_opportunities         | <review>      |
        | joint_review_gold            | <review>      |
      And the plan of account "ACME" is compliant

      # 15 checks apply to Gold at every stage, 8 more from contract negotiation,
      # 1 more from implementation and delivery, and 3 more in review and exploitation.
      Examples:
        | stage                   | negotiation    | delivery       | review         |
        | pre_sales               | does not apply | does not apply | does not apply |
        | contract_negotiation    | passes         | does not apply | does not apply |
        | implementation_delivery | passes         | passes         | does not apply |
        | review                  | passes         | passes         | passes         |
        | exploitation            | passes         | passes         | passes         |

    Scenario Outline: A draft plan is enough in pre-sales, but not once terms are negotiated (<stage>)
      Given account "ACME" has:
        | stage | <stage> |
      And account "ACME" has a plan with:
        | status | draft |
      When the accounts are decided
      Then check "plan_in_place" passes for account "ACME"
      And check "plan_agreed" <agreed>
      And check "plan_agreed" of account "ACME" says "<why>"
      And the plan of account "ACME" is <status>

      Examples:
        | stage                | agreed                           | status        | why                                                                        |
        | pre_sales            | does not apply to account "ACME" | compliant     | does not apply at stage pre sales; it applies from contract negotiation on |
        | contract_negotiation | fails for account "ACME"         | non compliant | does not hold: plan.status = draft                                         |

    Scenario: Stages are written in words too
      Given account "ACME" has:
        | stage | contract negotiation |
      When the accounts are decided
      Then check "plan_agreed" passes for account "ACME"
      And check "order_processing_and_service" does not apply to account "ACME"

    Scenario: When the stage is not recorded, the checks tied to a stage are not checked, and the report says so
      Given account "ACME" has:
        | stage |  |
      When the accounts are decided
      Then check "plan_agreed" does not apply to account "ACME"
      And check "plan_in_place" passes for account "ACME"
      And the plan report of account "ACME" says "not checked: the account's stage is missing, and the check applies from contract negotiation on"

  Rule: Freshness is measured from the decision date, and a check says when it falls due again

    Gold plans are reviewed by the mentor at least every 60 days: the latest mentor review
    in the plan's review log must be at most 60 days before the decision date, and the
    check falls due 60 days after it.

    Scenario Outline: A mentor review <days> days before the decision date <result>
      Given account "ACME" has no plan reviews
      And account "ACME" has these plan reviews:
        | date     | kind   | reviewer   |
        | <review> | mentor | Maria Holt |
        | <older>  | mentor | Maria Holt |
        | <joint>  | joint  | Acme's COO |
      When the accounts are decided
      Then check "mentor_review_gold" <result> for account "ACME"
      And check "mentor_review_gold" of account "ACME" falls due on <due>
      And the plan of account "ACME" is <status>

      # The latest mentor review counts, not the older one. due = review + 60 days.
      Examples:
        | days | review     | older      | joint      | result | due        | status    |
        | 31   | 2026-10-01 | 2026-06-01 | 2026-09-10 | passes | 2026-11-30 | compliant |
        | 60   | 2026-09-02 | 2026-06-01 | 2026-09-10 | passes | 2026-11-01 | compliant |
        | 61   | 2026-09-01 | 2026-06-01 | 2026-09-10 | fails  | 2026-10-31 | at risk   |

    Scenario: An overdue check says by how many days, and the report puts it under what is missing
      Given account "ACME" has no plan reviews
      And account "ACME" has these plan reviews:
        | date       | kind   | reviewer   |
        | 2026-08-17 | mentor | Maria Holt |
        | 2026-09-10 | joint  | Acme's COO |
      When the accounts are decided
      # 2026-08-17 + 60 days = 2026-10-16, 16 days before the decision date
      Then check "mentor_review_gold" fails for account "ACME" because "last done 2026-08-17, 76 days ago; must be within 60 days"
      And check "mentor_review_gold" of account "ACME" is 16 days overdue
      And the plan report of account "ACME" says "| major | The mentor reviewed the plan in the last 60 days. | last done 2026-08-17, 76 days ago; must be within 60 days | Book the plan review with the mentor and record it in the plan's review log. | Maria Holt (plan.mentor) | overdue since 2026-10-16 (16 days) |"

    Scenario: An open objective past its due date fails the objectives check; a done one does not
      Given account "ACME" has these objectives:
        | title               | owner    | due        | status  |
        | Price list for 2026 | Kim Lund | 2026-10-15 | at_risk |
      When the accounts are decided
      Then check "objectives_owned_and_on_schedule" fails for account "ACME" because "Give every objective an owner from the current team and a due date"
      # It falls due with the earliest open objective: 2026-10-15, 17 days ago.
      And check "objectives_owned_and_on_schedule" of account "ACME" is 17 days overdue
      And the plan of account "ACME" is at risk

    Scenario: An objective owned by someone who is not on the team is nobody's job
      Given account "ACME" has these objectives:
        | title            | owner     | due        | status |
        | Joint innovation | Jo Former | 2027-03-31 | open   |
      When the accounts are decided
      Then check "objectives_owned_and_on_schedule" fails for account "ACME" because "fails for 1 of 3 plan.objectives: Joint innovation (owner Jo Former)"

    Scenario Outline: The buying process confirmed <days> days ago <result>
      Given account "ACME" has a plan with:
        | buying_process_updated | <updated> |
      When the accounts are decided
      Then check "buying_process_documented" <result> for account "ACME"

      Examples:
        | days | updated    | result |
        | 365  | 2025-11-01 | passes |
        | 366  | 2025-10-31 | fails  |

  Rule: Higher tiers are held to stricter checks

    Gold plans are reviewed by the mentor every 60 days and jointly with the customer every
    100 days; Silver and Bronze by the mentor every 90 days; Silver jointly every 190 days,
    Bronze every 370 (a minor check). Only Gold needs an executive sponsor.

    Acme is Gold as described. With a strategic fit of 3 and a growth potential of 5 it
    scores 77.75 and is Silver (Gold needs a fit of 4); with a fit of 3, a growth potential
    of 2 and a high credit risk it scores 51.00 and is Bronze (see selection.feature).

    Scenario Outline: A <tier> plan last reviewed by the mentor <mentor days> days ago, and jointly <joint days> days ago
      Given account "ACME" has:
        | strategic_fit    | <fit>    |
        | growth_potential | <growth> |
        | credit_risk      | <risk>   |
      And account "ACME" has no plan reviews
      And account "ACME" has these plan reviews:
        | date     | kind   |
        | <mentor> | mentor |
        | <joint>  | joint  |
      When the accounts are decided
      Then account "ACME" is in tier "<tier>"
      And the plan checks of account "ACME" are:
        | check                       | result         |
        | mentor_review_gold          | <mentor gold>  |
        | mentor_review_silver_bronze | <mentor other> |
        | joint_review_gold           | <joint gold>   |
        | joint_review_silver         | <joint silver> |
        | joint_review_bronze         | <joint bronze> |
        | executive_sponsor           | <sponsor>      |
      And check "<mentor check>" of account "ACME" says "<mentor why>"
      And check "<joint check>" of account "ACME" says "<joint why>"
      And the plan of account "ACME" is <status>

      # mentor 75 days ago (2026-08-18): too old for Gold (60), fine for Silver and Bronze (90).
      # mentor 95 days ago (2026-07-29): too old for every tier.
      # joint 150 days ago (2026-06-04): too old for Gold (100), fine for Silver (190).
      # joint 200 days ago (2026-04-15): too old for Silver, fine for Bronze (370).
      # joint 400 days ago (2025-09-27): too old for Bronze too, but that check is minor.
      Examples:
        | tier   | fit | growth | risk | mentor days | mentor     | joint days | joint      | mentor gold    | mentor other   | joint gold     | joint silver   | joint bronze   | sponsor        | status    | mentor check                | mentor why                                                | joint check         | joint why                                                   |
        | Gold   | 5   | 4      | low  | 75          | 2026-08-18 | 150        | 2026-06-04 | fails          | does not apply | fails          | does not apply | does not apply | passes         | at risk   | mentor_review_gold          | last done 2026-08-18, 75 days ago; must be within 60 days | joint_review_gold   | last done 2026-06-04, 150 days ago; must be within 100 days |
        | Silver | 3   | 5      | low  | 75          | 2026-08-18 | 150        | 2026-06-04 | does not apply | passes         | does not apply | passes         | does not apply | does not apply | compliant | mentor_review_silver_bronze | last done 2026-08-18, 75 days ago; must be within 90 days | joint_review_silver | last done 2026-06-04, 150 days ago; must be within 190 days |
        | Silver | 3   | 5      | low  | 95          | 2026-07-29 | 200        | 2026-04-15 | does not apply | fails          | does not apply | fails          | does not apply | does not apply | at risk   | mentor_review_silver_bronze | last done 2026-07-29, 95 days ago; must be within 90 days | joint_review_silver | last done 2026-04-15, 200 days ago; must be within 190 days |
        | Bronze | 3   | 2      | high | 75          | 2026-08-18 | 200        | 2026-04-15 | does not apply | passes         | does not apply | does not apply | passes         | does not apply | compliant | mentor_review_silver_bronze | last done 2026-08-18, 75 days ago; must be within 90 days | joint_review_bronze | last done 2026-04-15, 200 days ago; must be within 370 days |
        | Bronze | 3   | 2      | high | 75          | 2026-08-18 | 400        | 2025-09-27 | does not apply | passes         | does not apply | does not apply | fails          | does not apply | compliant | mentor_review_silver_bronze | last done 2026-08-18, 75 days ago; must be within 90 days | joint_review_bronze | last done 2025-09-27, 400 days ago; must be within 370 days |

    Scenario: An account that is not a key account has no plan to check
      Given account "ACME" has:
        | wants_key_account | no |
      When the accounts are decided
      Then account "ACME" is in tier "Standard"
      And the plan of account "ACME" is not applicable
      And check "plan_in_place" does not apply to account "ACME"
      And the plan report of account "ACME" says "No plan checks apply"

  Rule: Every part of a complete plan has a check; its absence costs what its severity says

    The compliance score is the weight of the checks that pass over the weight of those
    that apply: blocker 3, major 2, minor 1. For Gold in exploitation 27 checks apply: 4
    blockers, 20 majors and 3 minors, 4 x 3 + 20 x 2 + 3 x 1 = 55.

    Scenario Outline: A plan without its <fact> fails "<check>" (a <severity>)
      Given account "ACME" has a plan with:
        | <fact> |  |
      When the accounts are decided
      Then check "<check>" fails for account "ACME" because "<why>"
      And the plan of account "ACME" is <status>
      And the plan of account "ACME" scores <score>

      # a major: (55 - 2) / 55 = 96.36%; a minor: 54 / 55 = 98.18%; a blocker: 52 / 55 = 94.55%
      Examples:
        | fact                   | check                            | severity | status        | score | why                                                                                    |
        | buying_process         | buying_process_documented        | major    | at risk       | 96.36 | does not hold: plan.buying_process = missing; plan.buying_process_updated = 2026-03-01 |
        | business_policies      | business_objectives_and_policies | minor    | compliant     | 98.18 | does not hold: plan.business_policies = missing                                        |
        | financial_requirements | financial_legal_requirements     | blocker  | non compliant | 94.55 | does not hold: plan.financial_requirements = missing                                   |
        | legal_requirements     | financial_legal_requirements     | blocker  | non compliant | 94.55 | plan.legal_requirements = missing                                                      |
        | margin_target_pct      | revenue_margin_targets           | major    | at risk       | 96.36 | does not hold: plan.revenue_target = 14,000,000; plan.margin_target_pct = missing      |
        | development_plan       | development_plan                 | major    | at risk       | 96.36 | does not hold: plan.development_plan = missing                                         |
        | actuals_updated        | plan_against_actual              | major    | at risk       | 96.36 | evidence missing: plan.actuals_updated                                                 |
        | order_processing       | order_processing_and_service     | major    | at risk       | 96.36 | does not hold: plan.order_processing = missing                                         |

    Scenario Outline: A plan with no <list> fails "<check>"
      Given account "ACME" has no <list>
      When the accounts are decided
      Then check "<check>" fails for account "ACME" because "<why>"
      And the plan of account "ACME" is <status>

      Examples:
        | list                 | check                            | status    | why                                                                                |
        | objectives           | objectives_owned_and_on_schedule | at risk   | does not hold: count(plan.objectives) = 0                                          |
        | customer objectives  | customer_objectives_confirmed    | at risk   | evidence missing: min(plan.customer_objectives, updated)                           |
        | competitors          | competitor_activity_assessed     | at risk   | evidence missing: min(plan.competitors, assessed, position != 'exited')            |
        | service metrics      | order_processing_and_service     | at risk   | count(plan.service_metrics) = 0                                                    |
        | growth opportunities | growth_opportunities             | compliant | does not hold: count(plan.growth_opportunities, days_since(identified) <= 365) = 0 |
        | management feedback  | management_feedback              | compliant | evidence missing: max(plan.management_feedback, date)                              |

    Scenario: A competitor not assessed in 180 days fails, even when the others were
      Given account "ACME" has these competitors:
        | name     | position | assessed   |
        | Newcomer | weak     | 2026-04-01 |
      When the accounts are decided
      # the oldest assessment of an active competitor counts: 2026-04-01, 214 days ago
      Then check "competitor_activity_assessed" fails for account "ACME" because "last done 2026-04-01, 214 days ago; must be within 180 days"

    Scenario: A team member who signed an older version of the plan has not signed it
      Given account "ACME" has a plan with:
        | version | 4 |
      And account "ACME" has these sign-offs:
        | member    | version | date       |
        | Kim Lund  | 4       | 2026-10-20 |
        | Raj Patel | 4       | 2026-10-21 |
      When the accounts are decided
      # Eva Stone signed version 3 only: the report names her.
      Then check "plan_signed_by_team" fails for account "ACME" because "fails for 1 of 3 team: Eva Stone"
      And the plan of account "ACME" is at risk

    Scenario: A retired plan that was never replaced counts as no plan
      Given account "ACME" has a plan with:
        | status | retired |
      When the accounts are decided
      Then check "plan_in_place" fails for account "ACME"
      And check "plan_agreed" fails for account "ACME"
      And the plan of account "ACME" is non compliant

  Rule: An account without a plan is told to draft one

    Scenario: A Gold account with no plan at all
      Given account "ACME" has no plan
      When the accounts are decided
      Then account "ACME" is in tier "Gold"
      And check "plan_in_place" fails for account "ACME" because "evidence missing: there is no plan"
      And the plan of account "ACME" is non compliant
      And the plan report of account "ACME" says "Not compliant"
      And the plan report of account "ACME" says "Draft the account plan (or a new version of a retired one) from the plan template and share it with the account team."
      And the plan report of account "ACME" says "Kim Lund (account.account_manager)"

  Rule: A date after the decision date is a mistake in the data, not a very recent review

    Left alone, a review dated in the future would pass every freshness check it touches,
    so the account is not decided until the date is corrected.

    Scenario: A mentor review dated after the decision date
      Given account "ACME" has these plan reviews:
        | date       | kind   | reviewer   |
        | 2026-11-05 | mentor | Maria Holt |
      When the accounts are decided
      Then account "ACME" could not be decided because "plan.reviews[2].date: 2026-11-05 is after the as-of date 2026-11-01"

  Rule: The account manager's report says what is missing, what to do, who acts and by when

    Scenario: A plan with a stale review and no development plan
      Given account "ACME" has a plan with:
        | development_plan |  |
      And account "ACME" has no plan reviews
      And account "ACME" has these plan reviews:
        | date       | kind   | reviewer   |
        | 2026-08-17 | mentor | Maria Holt |
        | 2026-09-10 | joint  | Acme's COO |
      When the accounts are decided
      # two majors fail: (55 - 2 x 2) / 55 = 92.73%
      Then the plan of account "ACME" is at risk
      And the plan of account "ACME" scores 92.73
      And the plan report of account "ACME" says "## Account plan: Acme Industrial (ACME)"
      And the plan report of account "ACME" says "At risk, score 92.73 · tier Gold · stage exploitation · relationship map: a supportive key player (3 of 3)"
      And the plan report of account "ACME" says "| does not hold: plan.development_plan = missing | Write the account development plan: where the growth is, in which order we go after it, and what each step needs from our side. | Kim Lund (plan.owner) | now |"
      And the plan report of account "ACME" says "overdue since 2026-10-16 (16 days)"
      And the plan report of account "ACME" says "3 checks do not apply now"

Feature: A year in the life of a Gold account, as the monitor sees it
  The account monitor (`kamrules watch`) takes the CRM's events as they happen, re-decides
  the account after each one with the default rulebook, and raises the alerts that
  rules/alerts.yaml turns on. Time is business time: the events' dates and the CRM's daily
  clock ticks. Every alert below is worked out by hand from the rules:

  - the mentor reviews a Gold plan every 60 days (mentor_review_gold), and the owner is told
    14 days before it falls due (review_due_soon, lead_days Gold: 14);
  - from the review stage on, Gold is promised a joint business review every 100 days
    (joint_review_gold); a review 30 days overdue escalates (review_escalated);
  - the stages move forward one at a time; the allowed steps back are review to
    implementation and delivery, exploitation to review and exploitation to contract
    negotiation (illegal_stage_transition);
  - Gold needs a strategic fit of 4 or 5 (tiers.yaml); an override pins a tier until its
    expiry date, and the director is told 14 days before (override_expiring).

  Nordlys Pharma is attractive (91.30) and we are strong there (84.56): Gold. Its plan is
  young, so many plan checks fail from the start; the monitor's first decision is the
  baseline, and only changes are told.

  Background:
    Given the default rulebook
    And an account "G-1" with:
      | fact                  | value                |
      | name                  | Nordlys Pharma AS    |
      | industry              | Pharmaceuticals      |
      | region                | Nordics              |
      | account_manager       | Ingrid Dahl          |
      | annual_revenue        | 72,770,000           |
      | gross_margin_pct      | 30.6                 |
      | revenue_growth_pct    | 32.8                 |
      | wallet_size           | 123,970,000          |
      | share_of_wallet_pct   | 58.7                 |
      | growth_potential      | 5                    |
      | strategic_fit         | 5                    |
      | relationship_strength | 5                    |
      | competitive_position  | 4                    |
      | reference_value       | 4                    |
      | years_as_customer     | 14.3                 |
      | credit_risk           | medium               |
      | wants_key_account     | yes                  |
      | stage                 | contract negotiation |
      | nps                   | 42                   |
      | shares_business_plans | yes                  |
    And account "G-1" has a plan with:
      | fact   | value       |
      | owner  | Ingrid Dahl |
      | mentor | Ola Berg    |
      | status | agreed      |
    And account "G-1" has these plan reviews:
      | date       | kind   |
      | 2026-10-20 | mentor |
      | 2026-09-01 | joint  |
    And account "G-1" has these contacts:
      | id | name      | role              | stance    | influence |
      | C1 | Kari Lund | decision_maker    | supporter | 5         |
      | C2 | Per Vik   | executive_sponsor | supporter | 4         |
      | C3 | Siv Moe   | user              | neutral   | 2         |
    And account "G-1" has these team members:
      | name        | role                  |
      | Ingrid Dahl | key account manager   |
      | Jon Aas     | customer service lead |

  Scenario: Stages, reviews on time and one late, a key player leaving, a tier change and an override expiring
    When the monitor loads account "G-1" on 2026-11-01
    And these events arrive:
      | date       | event            | details                                                                  |
      | 2026-12-01 | stage.changed    | to: implementation_delivery                                              |
      | 2026-12-05 | clock.tick       |                                                                          |
      | 2026-12-12 | plan.reviewed    | kind: mentor; date: 2026-12-12                                           |
      | 2027-01-27 | clock.tick       |                                                                          |
      | 2027-02-08 | plan.reviewed    | kind: mentor; date: 2027-02-08                                           |
      | 2027-03-01 | stage.changed    | to: review                                                               |
      | 2027-03-08 | plan.reviewed    | kind: joint; date: 2027-03-08                                            |
      | 2027-03-26 | clock.tick       |                                                                          |
      | 2027-04-12 | clock.tick       |                                                                          |
      | 2027-04-14 | plan.reviewed    | kind: mentor; date: 2027-04-14                                           |
      | 2027-05-03 | contact.left     | contact_id: C1                                                           |
      | 2027-05-20 | contact.added    | contact.id: C4; contact.name: Anna Berg; contact.role: decision_maker; contact.stance: supporter |
      | 2027-05-30 | clock.tick       |                                                                          |
      | 2027-06-01 | stage.changed    | to: exploitation                                                         |
      | 2027-06-05 | account.updated  | facts.strategic_fit: 3                                                   |
      | 2027-06-08 | plan.reviewed    | kind: mentor; date: 2027-06-08                                           |
      | 2027-06-10 | override.granted | tier: Gold; reason: Programme with the new CEO; approver: Key account director; expires: 2027-09-30 |
      | 2027-06-20 | plan.reviewed    | kind: joint; date: 2027-06-20                                            |
      | 2027-07-24 | clock.tick       |                                                                          |
      | 2027-08-05 | plan.reviewed    | kind: mentor; date: 2027-08-05                                           |
      | 2027-09-16 | clock.tick       |                                                                          |
      | 2027-09-25 | plan.reviewed    | kind: joint; date: 2027-09-25                                            |
      | 2027-10-01 | clock.tick       |                                                                          |
      | 2027-10-15 | stage.changed    | to: contract_negotiation                                                 |
      | 2027-10-20 | stage.changed    | to: review                                                               |
    # 2026-12-01  from implementation and delivery on, the plan must describe order processing: it does not.
    # 2026-12-05  mentor review of 2026-10-20 + 60 days = due 2026-12-19; 14 days ahead is 2026-12-05.
    # 2027-01-27  review of 2026-12-12 is due 2027-02-10; 14 days ahead.
    # 2027-03-01  at review, a growth opportunity must be named (none is), and the joint review of
    #             2026-09-01 fell due on 2026-12-10: 81 days overdue, past the 30 days that escalate.
    # 2027-03-26  review of 2027-02-08 due 2027-04-09, 14 days ahead; 2027-04-12: 3 days late.
    # 2027-05-03  Kari Lund (a decision maker) leaves; of two key players, only Per Vik is left.
    # 2027-05-30  review of 2027-04-14 due 2027-06-13.
    # 2027-06-05  a strategic fit of 3 is below Gold's 4: Silver. 2027-06-10: the override pins Gold,
    #             whose joint review of 2027-03-08 falls due on 2027-06-16, within 14 days.
    # 2027-07-24  review of 2027-06-08 due 2027-08-07. 2027-09-16: the joint review of 2027-06-20
    #             falls due on 2027-09-28 and the override expires on 2027-09-30, both within 14 days.
    # 2027-09-25  the joint review is re-decided with the mentor review of 2027-08-05 due 2027-10-04.
    # 2027-10-01  the override has expired: back to Silver.
    # 2027-10-20  contract negotiation to review skips two stages; back at review, the growth
    #             opportunity and order processing checks apply (and fail) again.
    Then the monitor raises these alerts:
      | date       | alert                    | about                              |
      | 2026-12-01 | plan_check_failing       | order_processing_and_service       |
      | 2026-12-05 | review_due_soon          | mentor_review_gold                 |
      | 2027-01-27 | review_due_soon          | mentor_review_gold                 |
      | 2027-03-01 | plan_check_failing       | growth_opportunities               |
      | 2027-03-01 | review_escalated         | joint_review_gold                  |
      | 2027-03-26 | review_due_soon          | mentor_review_gold                 |
      | 2027-04-12 | review_overdue           | mentor_review_gold                 |
      | 2027-05-03 | key_player_left          | C1                                 |
      | 2027-05-03 | single_threaded          |                                    |
      | 2027-05-30 | review_due_soon          | mentor_review_gold                 |
      | 2027-06-05 | tier_changed             |                                    |
      | 2027-06-10 | tier_changed             |                                    |
      | 2027-06-10 | review_due_soon          | joint_review_gold                  |
      | 2027-07-24 | review_due_soon          | mentor_review_gold                 |
      | 2027-09-16 | review_due_soon          | joint_review_gold                  |
      | 2027-09-16 | override_expiring        |                                    |
      | 2027-09-25 | review_due_soon          | mentor_review_gold                 |
      | 2027-10-01 | tier_changed             |                                    |
      | 2027-10-01 | override_expired         |                                    |
      | 2027-10-20 | illegal_stage_transition | contract_negotiation to review     |
      | 2027-10-20 | plan_check_failing       | growth_opportunities               |
      | 2027-10-20 | plan_check_failing       | order_processing_and_service       |
    And alert "review_escalated" of 2027-03-01 says "Overdue since 2026-12-10 (81 days)."
    And alert "review_overdue" of 2027-04-12 notifies "Ola Berg"
    And alert "single_threaded" of 2027-05-03 says "Per Vik is the only key player left"
    And alert "tier_changed" of 2027-06-05 says "tier moved down from Gold to Silver"
    And alert "override_expired" of 2027-10-01 says "expired on 2027-09-30"
    And the monitor decides account "G-1" as the engine decides its facts

  Scenario: A plan gap fixed, supporters turning, and our position weakening
    When the monitor loads account "G-1" on 2026-11-01
    And these events arrive:
      | date       | event           | details                                                              |
      | 2026-11-03 | plan.updated    | plan.development_plan: Win the biologics line through a joint pilot. |
      | 2026-11-10 | contact.updated | contact_id: C2; changes.stance: neutral                              |
      | 2026-11-12 | contact.updated | contact_id: C1; changes.stance: non_supporter                        |
      | 2026-11-20 | account.updated | facts.relationship_strength: 1; facts.competitive_position: 1        |
    # 2026-11-03  the plan had no development plan (a failing check at the load); now it has one.
    # 2026-11-10  Per Vik, the executive sponsor, is neutral now: no executive supports us.
    # 2026-11-12  Kari Lund opposes us: no key player supports us, the map drops from status 3 to 2,
    #             and an opposing key player needs a mitigation.
    # 2026-11-20  our strength falls from 84.56 to 40.31: below the 50 of Strategic, so Star (still
    #             Gold, whose floor on strength is 40).
    Then the monitor raises these alerts:
      | date       | alert              | about                 |
      | 2026-11-03 | plan_check_passing | development_plan      |
      | 2026-11-10 | plan_check_failing | executive_sponsor     |
      | 2026-11-12 | plan_check_failing | supportive_key_player |
      | 2026-11-12 | plan_check_failing | opponents_mitigated   |
      | 2026-11-12 | map_status_dropped |                       |
      | 2026-11-20 | segment_changed    |                       |
    And alert "segment_changed" of 2026-11-20 says "segment changed from Strategic to Star"
    And alert "map_status_dropped" of 2026-11-12 notifies "Ingrid Dahl"

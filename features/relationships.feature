Feature: Relationships: mapped, analysed, planned and monitored
  In a reactive sale there is one relationship, buyer and seller. In a key account there are
  many, at several levels and in several departments, and they are political: some contacts
  like us more than others, some ask us not to talk to other departments. So the account
  team maps them (who each contact is, their role, level and department, their stance toward
  us, their influence, and who on our team owns the relationship) and the default rulebook
  checks the map (rules/relationships.yaml).

  Two words are defined once in the rulebook and used by every check: a key player is a
  decision maker, the customer's executive sponsor or a champion, or anyone whose influence
  we rate 4 or 5; a supportive contact is a mentor or a supporter.

  Acme, below, is the Gold account of plan_compliance.feature (attractiveness 85.25), in
  contract negotiation, with three contacts: Ana Ruiz, a decision maker who supports us,
  known to Kim and Eva; Tom Berg, a neutral user; Lia Chen, a supportive specifier.

  Background:
    Given the default rulebook
    And the decision date is 2026-11-01
    And an account "ACME" with:
      | fact                  | value                |
      | account_manager       | Kim Lund             |
      | stage                 | contract negotiation |
      | annual_revenue        | 12,000,000           |
      | wallet_size           | 40,000,000           |
      | gross_margin_pct      | 34%                  |
      | growth_potential      | 4                    |
      | strategic_fit         | 5                    |
      | credit_risk           | low                  |
      | wants_key_account     | yes                  |
      | relationship_strength | 4                    |
      | share_of_wallet_pct   | 30%                  |
      | competitive_position  | 4                    |
      | nps                   | 40                   |
      | shares_business_plans | yes                  |
    And account "ACME" has a plan with:
      | owner  | Kim Lund   |
      | status | agreed     |
      | mentor | Maria Holt |
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

  Rule: The map as described passes every relationship check

    Scenario: Acme's relationship map
      When the accounts are decided
      Then the relationship map of account "ACME" has status 3
      And the plan checks of account "ACME" are:
        | check                   | result |
        | decision_makers_covered | passes |
        | executive_sponsor       | passes |
        | supportive_key_player   | passes |
        | levels_and_departments  | passes |
        | key_players_owned       | passes |
        | opponents_mitigated     | passes |
        | key_players_in_touch    | passes |
        | no_single_threading     | passes |
        | restrictions_respected  | passes |
        | mentor_independent      | passes |

  Rule: The relationship map status says how far the map has got, from 0 to 3

    0: no contacts mapped; 1: contacts, but no key player among them; 2: key players, but
    none supportive; 3: a supportive key player.

    Scenario: No contacts mapped at all
      Given account "ACME" has no contacts
      When the accounts are decided
      Then the relationship map of account "ACME" has status 0
      And check "decision_makers_covered" fails for account "ACME"
      And the plan report of account "ACME" says "relationship map: no contacts mapped (0 of 3)"

    Scenario Outline: Ana Ruiz as a <stance> <role> of influence <influence>: map status <status>
      Given account "ACME" has no contacts
      And account "ACME" has these contacts:
        | id | name     | role   | level       | department  | stance   | influence   | owner     | last_contacted |
        | C1 | Ana Ruiz | <role> | executive   | Operations  | <stance> | <influence> | Kim Lund  | 2026-10-20     |
        | C2 | Tom Berg | user   | operational | Maintenance | neutral  | 2           | Raj Patel | 2026-10-05     |
      When the accounts are decided
      Then the relationship map of account "ACME" has status <status>
      And check "supportive_key_player" <supportive key player> for account "ACME"
      And check "supportive_key_player" of account "ACME" says "<why>"

      # A key player by role (decision maker, executive sponsor, champion) or by influence
      # of 4 or more; Tom Berg (a user of influence 2) is neither.
      Examples:
        | role              | stance    | influence | status | supportive key player | why                                                          |
        | decision_maker    | supporter | 5         | 3      | passes                | holds                                                        |
        | decision_maker    | mentor    | 2         | 3      | passes                | holds                                                        |
        | champion          | supporter | 1         | 3      | passes                | holds                                                        |
        | specifier         | supporter | 4         | 3      | passes                | holds                                                        |
        | decision_maker    | neutral   | 5         | 2      | fails                 | does not hold: any(contacts, key_player and supportive) = no |
        | executive_sponsor | enemy     | 5         | 2      | fails                 | does not hold: any(contacts, key_player and supportive) = no |
        | specifier         | supporter | 3         | 1      | fails                 | does not hold: any(contacts, key_player and supportive) = no |
        | user              | supporter |           | 1      | fails                 | does not hold: any(contacts, key_player and supportive) = no |

  Rule: Every decision maker is known, and knows at least two of us

    Scenario: A decision maker who knows only one of us
      Given account "ACME" has no relationships
      And account "ACME" has these relationships:
        | member    | contact |
        | Kim Lund  | C1      |
        | Raj Patel | C2      |
        | Eva Stone | C3      |
      When the accounts are decided
      Then check "decision_makers_covered" fails for account "ACME" because "introduce a second member of the team to each one who knows only one of us"
      # The report names the decision makers to act on, by name and CRM id.
      And check "decision_makers_covered" fails for account "ACME" because "fails for 1 of 3 contacts: Ana Ruiz (id C1)"

    Scenario: A map without any decision maker fails: the decision makers are there, we just do not know them
      Given account "ACME" has no contacts
      And account "ACME" has these contacts:
        | id | name     | role       | level     | department | stance    | influence | owner    | last_contacted |
        | C1 | Ana Ruiz | influencer | executive | Operations | supporter | 5         | Kim Lund | 2026-10-20     |
      When the accounts are decided
      Then check "decision_makers_covered" fails for account "ACME" because "does not hold: count(contacts, role == 'decision_maker') = 0"
      And the relationship map of account "ACME" has status 3

  Rule: Gold accounts have a supportive executive sponsor at the customer

    Scenario Outline: Ana Ruiz as a <stance> <role> at <level> level
      Given account "ACME" has no contacts
      And account "ACME" has these contacts:
        | id | name     | role   | level   | department | stance   | influence | owner    | last_contacted |
        | C1 | Ana Ruiz | <role> | <level> | Operations | <stance> | 5         | Kim Lund | 2026-10-20     |
      When the accounts are decided
      Then check "executive_sponsor" <result> for account "ACME"
      And check "executive_sponsor" of account "ACME" says "<why>"

      Examples:
        | role              | level             | stance    | result | why                                                                                                                |
        | decision_maker    | board             | supporter | passes | holds                                                                                                              |
        | executive_sponsor | senior_management | mentor    | passes | holds                                                                                                              |
        | decision_maker    | executive         | neutral   | fails  | does not hold: any(contacts, (role == 'executive_sponsor' or level in ['board', 'executive']) and supportive) = no |
        | decision_maker    | senior_management | supporter | fails  | does not hold: any(contacts, (role == 'executive_sponsor' or level in ['board', 'executive']) and supportive) = no |

    Scenario: A Silver account needs no executive sponsor
      Given account "ACME" has:
        | strategic_fit    | 3 |
        | growth_potential | 5 |
      When the accounts are decided
      # 77.75 on attractiveness, Silver (Gold needs a strategic fit of 4); see selection.feature
      Then account "ACME" is in tier "Silver"
      And check "executive_sponsor" does not apply to account "ACME"

  Rule: From contract negotiation on, our contacts span at least two levels and three departments

    Scenario Outline: Contacts at <levels> levels in <departments> departments
      Given account "ACME" has no contacts
      And account "ACME" has these contacts:
        | id | name     | role           | level     | department | stance    | influence | owner     | last_contacted |
        | C1 | Ana Ruiz | decision_maker | executive | Operations | supporter | 5         | Kim Lund  | 2026-10-20     |
        | C2 | Tom Berg | user           | <level 2> | <dept 2>   | neutral   | 2         | Raj Patel | 2026-10-05     |
        | C3 | Lia Chen | specifier      | <level 3> | <dept 3>   | supporter | 3         | Eva Stone | 2026-09-28     |
      When the accounts are decided
      Then check "levels_and_departments" <result> for account "ACME"
      And check "levels_and_departments" of account "ACME" says "<why>"

      Examples:
        | levels | departments | level 2     | level 3   | dept 2      | dept 3      | result | why                                                                              |
        | 3      | 3           | operational | executive | Maintenance | Engineering | passes | holds                                                                            |
        | 2      | 3           | operational | executive | Maintenance | Engineering | passes | holds                                                                            |
        | 1      | 3           | executive   | executive | Maintenance | Engineering | fails  | does not hold: distinct(contacts, level) = 1; distinct(contacts, department) = 3 |
        | 2      | 2           | operational | executive | Maintenance | Operations  | fails  | does not hold: distinct(contacts, level) = 2; distinct(contacts, department) = 2 |

    Scenario: In pre-sales the spread of the map is not yet checked
      Given account "ACME" has:
        | stage | pre_sales |
      When the accounts are decided
      Then check "levels_and_departments" does not apply to account "ACME"
      And check "supportive_key_player" does not apply to account "ACME"
      And check "no_single_threading" does not apply to account "ACME"
      And check "decision_makers_covered" passes for account "ACME"

  Rule: Every key player is owned by a current member of the team

    Scenario Outline: Ana Ruiz owned by <owner>
      Given account "ACME" has no contacts
      And account "ACME" has these contacts:
        | id | name     | role           | level     | department | stance    | owner   | last_contacted |
        | C1 | Ana Ruiz | decision_maker | executive | Operations | supporter | <owner> | 2026-10-20     |
        | C2 | Tom Berg | user           | executive | Operations | neutral   |         | 2026-10-20     |
      When the accounts are decided
      Then check "key_players_owned" <result> for account "ACME"
      And check "key_players_owned" of account "ACME" says "<why>"

      # Tom Berg, a user, is no key player: nobody has to own him.
      Examples:
        | owner     | result | why                                                        |
        | Eva Stone | passes | holds                                                      |
        | Jo Former | fails  | does not hold: fails for 1 of 2 contacts: Ana Ruiz (id C1) |
        |           | fails  | does not hold: fails for 1 of 2 contacts: Ana Ruiz (id C1) |

  Rule: A key player who opposes us has a planned mitigation

    Scenario Outline: An influential plant manager who is <stance>, <mitigation>
      Given account "ACME" has these contacts:
        | id | name     | role       | level             | department | stance   | influence | owner    | last_contacted | mitigation   |
        | C4 | Max Vogt | influencer | senior_management | Production | <stance> | 4         | Kim Lund | 2026-10-12     | <mitigation> |
      When the accounts are decided
      Then check "opponents_mitigated" <result> for account "ACME"
      And check "opponents_mitigated" of account "ACME" says "<why>"

      Examples:
        | stance        | mitigation                                    | result | why                                                        |
        | enemy         |                                               | fails  | does not hold: fails for 1 of 4 contacts: Max Vogt (id C4) |
        | non_supporter |                                               | fails  | does not hold: fails for 1 of 4 contacts: Max Vogt (id C4) |
        | enemy         | Plant visit with our service lead in November | passes | holds                                                      |
        | neutral       |                                               | passes | holds                                                      |

    Scenario: An opponent without influence is recorded, but is no key player to plan for
      Given account "ACME" has these contacts:
        | id | name     | role | level       | department | stance | influence | last_contacted |
        | C4 | Max Vogt | user | operational | Production | enemy  | 2         | 2026-10-12     |
      When the accounts are decided
      Then check "opponents_mitigated" passes for account "ACME"

  Rule: Our team was in touch with every key player in the last 90 days

    Scenario Outline: Ana Ruiz last contacted on <date>
      Given account "ACME" has no contacts
      And account "ACME" has these contacts:
        | id | name     | role           | level     | department | stance    | owner    | last_contacted |
        | C1 | Ana Ruiz | decision_maker | executive | Operations | supporter | Kim Lund | <date>         |
      When the accounts are decided
      Then check "key_players_in_touch" <result> for account "ACME"
      And check "key_players_in_touch" of account "ACME" says "<why>"
      And check "key_players_in_touch" of account "ACME" falls due on <due>

      # due: the last contact + 90 days
      Examples:
        | date       | result | due        | why                                                        |
        | 2026-08-03 | passes | 2026-11-01 | holds                                                      |
        | 2026-08-02 | fails  | 2026-10-31 | does not hold: fails for 1 of 1 contacts: Ana Ruiz (id C1) |

    Scenario: A key player in a department we were asked not to approach is not counted
      Given account "ACME" has these contacts:
        | id | name      | role           | level     | department  | stance  | owner     | last_contacted |
        | C5 | Olga Berg | decision_maker | executive | Procurement | neutral | Raj Patel | 2026-05-01     |
      And account "ACME" has these relationships:
        | member    | contact |
        | Raj Patel | C5      |
        | Kim Lund  | C5      |
      And account "ACME" has these restrictions:
        | contact | department  | since      | note                                       |
        | C1      | Procurement | 2026-04-01 | Ana asked us to go through her, not buying |
      When the accounts are decided
      # Olga was last contacted 184 days ago, but Procurement is off limits since 1 April.
      Then check "key_players_in_touch" passes for account "ACME"
      # ...but contacting her on 1 May broke the restriction: a blocker.
      And check "restrictions_respected" fails for account "ACME" because "Find out who contacted the restricted department and why"

  Rule: Restrictions a contact asked for are respected

    Scenario Outline: Engineering is off limits since <since>; Lia Chen (Engineering) was last contacted on 2026-09-28
      Given account "ACME" has these restrictions:
        | contact | department  | since   | note                                    |
        | C2      | Engineering | <since> | Tom asked us to leave Engineering alone |
      When the accounts are decided
      Then check "restrictions_respected" <result> for account "ACME"
      And check "restrictions_respected" of account "ACME" says "<why>"

      # A contact on or after the day the restriction was asked for breaks it.
      Examples:
        | since      | result | why                                                                    |
        | 2026-09-28 | fails  | does not hold: fails for 1 of 1 restrictions: Engineering (contact C2) |
        | 2026-09-29 | passes | holds                                                                  |

  Rule: No single team member holds the relationship alone

    Scenario Outline: <kim> of <total> relationships are Kim's
      Given account "ACME" has no relationships
      And account "ACME" has these relationships:
        | member   | contact |
        | Kim Lund | C1      |
        | <second> | C1      |
        | <third>  | C2      |
        | <fourth> | C3      |
        | <fifth>  | C2      |
      When the accounts are decided
      Then check "no_single_threading" <result> for account "ACME"
      And check "no_single_threading" of account "ACME" says "<why>"

      # at least 3 relationships, and the busiest member holds at most 60% of them
      Examples:
        | kim | total | second    | third    | fourth    | fifth    | result | why                                                                             |
        | 3   | 5     | Eva Stone | Kim Lund | Raj Patel | Kim Lund | passes | holds                                                                           |
        | 4   | 5     | Kim Lund  | Kim Lund | Raj Patel | Kim Lund | fails  | does not hold: count(relationships) = 5; max_share(relationships, member) = 0.8 |

    Scenario: Fewer than three relationships are too few
      Given account "ACME" has no relationships
      And account "ACME" has these relationships:
        | member    | contact |
        | Kim Lund  | C1      |
        | Eva Stone | C1      |
      When the accounts are decided
      Then check "no_single_threading" fails for account "ACME" because "does not hold: count(relationships) = 2"

  Rule: The mentor who reviews the plan is not on the account team

    Scenario Outline: The plan's mentor is <mentor>
      Given account "ACME" has a plan with:
        | mentor | <mentor> |
      When the accounts are decided
      Then check "mentor_independent" <result> for account "ACME"
      And check "mentor_independent" of account "ACME" says "<why>"

      Examples:
        | mentor     | result | why                                                                         |
        | Maria Holt | passes | holds                                                                       |
        | Eva Stone  | fails  | does not hold: plan.mentor = Eva Stone; fails for 1 of 3 team: Eva Stone    |
        |            | fails  | does not hold: plan.mentor = missing; none(team, name == plan.mentor) = yes |

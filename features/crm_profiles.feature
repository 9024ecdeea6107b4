Feature: Reading a CRM's export through a CRM profile
  A policy says who is a key account; it should not have to know how Salesforce, HubSpot or
  Dynamics 365 spell a column or a picklist value. A CRM profile (a YAML file, kept apart
  from the rulebook) maps one CRM's export onto the facts the rules read: columns to facts,
  picklist labels to the facts' values, dates and numbers as that CRM writes them. The
  rulebook, and its content hash, stay the same whichever CRM feeds it; each decision names
  the profile that read its facts. kamrules ships profiles for Salesforce, HubSpot and
  Dynamics 365 (src/kamrules/crm/profiles/); these scenarios use them with the unchanged
  default rulebook.

  Background:
    Given the default rulebook
    And the decision date is 2026-11-01

  Rule: A whole export is decided through the shipped profile, every account of it

    Scenario: A Salesforce accounts export (standard API names, __c custom fields, picklist labels)
      Given the accounts in "examples/crm/salesforce_accounts.csv"
      And the CRM profile "salesforce"
      When the accounts are decided
      Then every account is decided
      And account "ACC-00003" was read with the CRM profile "salesforce"
      And the tiers are:
        | account   | tier     |
        | ACC-00001 | Standard |
        | ACC-00003 | Silver   |
        | ACC-00004 | Bronze   |

    Scenario: A HubSpot companies export (API property names, text values, dates in milliseconds)
      Given the accounts in "examples/crm/hubspot_companies.jsonl"
      And the CRM profile "hubspot"
      When the accounts are decided
      Then every account is decided
      And account "ACC-00063" was read with the CRM profile "hubspot"
      And account "ACC-00063" is in tier "Gold"

  Rule: Picklist labels become the facts' values through the profile's value maps

    The Salesforce profile maps Growth_Potential__c's labels to the 1-5 scale (Very Low 1,
    Low 2, Medium 3, High 4, Very High 5) and reads labels ignoring case and spaces, so "High"
    and "  high " are both the credit risk `high`. A label nobody mapped is an error for that
    account, never a guess.

    Scenario: Growth potential labels score as the numbers they stand for
      Given the CRM profile "salesforce"
      And these accounts:
        | account | Growth_Potential__c | Credit_Risk__c |
        | SF-1    | Very High           | Low            |
        | SF-2    | High                | low            |
        | SF-3    | very low            | LOW            |
      When the accounts are decided
      Then criterion "growth_potential" gives account "SF-1" 100 points
      And criterion "growth_potential" gives account "SF-2" 75 points
      And criterion "growth_potential" gives account "SF-3" 0 points

    Scenario: Credit risk labels reach the gates whatever their case
      Given the CRM profile "salesforce"
      And these accounts:
        | account | Credit_Risk__c |
        | SF-1    | High           |
        | SF-2    | SEVERE         |
        | SF-3    | Medium         |
      When the accounts are decided
      Then gate "high_credit_risk" applies to account "SF-1"
      And gate "severe_credit_risk" applies to account "SF-2"
      And gate "high_credit_risk" does not apply to account "SF-3"
      And gate "severe_credit_risk" does not apply to account "SF-3"

    Scenario: A label the profile does not map is named, with its column
      Given the CRM profile "salesforce"
      And these accounts:
        | account | Growth_Potential__c | KAM_Stage__c |
        | SF-1    | Huge                | Review       |
        | SF-2    | Medium              | Closed Won   |
      When the accounts are decided
      Then account "SF-1" could not be decided because "growth_potential: 'Huge' has no mapping"
      And account "SF-1" could not be decided because "(column 'Growth_Potential__c')"
      And account "SF-2" could not be decided because "stage: 'Closed Won' has no mapping"

  Rule: Numbers and dates are read as the profile declares, never guessed

    The Salesforce profile reads AnnualRevenue with "," as thousands separator and USD or $
    as currency text, and Plan_Last_Reviewed__c as an ISO date or day/month/year. HubSpot
    keeps a percentage as 0 to 1; its profile moves it to the 0 to 100 of gross_margin_pct
    (10% or less earns nothing, 40% or more full points, in between in proportion).

    Scenario: Revenue with thousands separators and currency text lands in the right band
      Given the CRM profile "salesforce"
      And these accounts:
        | account | AnnualRevenue     |
        | SF-1    | USD 12,500,000.00 |
        | SF-2    | $2,000,000        |
        | SF-3    | 1,999,999.99      |
      When the accounts are decided
      Then criterion "annual_revenue" gives account "SF-1" 80 points
      And criterion "annual_revenue" gives account "SF-2" 40 points
      And criterion "annual_revenue" gives account "SF-3" 20 points

    Scenario: A HubSpot margin of 0.25 is 25 percent: 50 points on the 10 to 40 scale
      Given the CRM profile "hubspot"
      And these accounts:
        | account | kam_gross_margin |
        | HS-1    | 0.25             |
        | HS-2    | 0.4              |
      When the accounts are decided
      Then criterion "gross_margin" gives account "HS-1" 50 points
      And criterion "gross_margin" gives account "HS-2" 100 points

    Scenario: Day/month/year dates are read in that order, and other orders are refused
      31/10/2026 is the 31st of October. 10/31/2026 would be the 10th day of a 31st month:
      no day/month/year date at all, so the account is an error rather than a guess at
      another order.

      Given the CRM profile "salesforce"
      And these accounts:
        | account | Plan_Last_Reviewed__c |
        | SF-1    | 31/10/2026            |
        | SF-2    | 10/31/2026            |
        | SF-3    | 2026-10-29            |
      When the accounts are decided
      Then account "SF-1" is in tier "Standard"
      And account "SF-2" could not be decided because "'10/31/2026' is not a date in the declared format (iso, %d/%m/%Y)"
      And account "SF-3" is in tier "Standard"

    Scenario: HubSpot dates are milliseconds since 1970
      1793232000000 ms is 20,755 days after 1 January 1970: 29 October 2026. A date written
      as text is not what the HubSpot profile declares.

      Given the CRM profile "hubspot"
      And these accounts:
        | account | kam_plan_last_reviewed |
        | HS-1    | 1793232000000          |
        | HS-2    | 29/10/2026             |
      When the accounts are decided
      Then account "HS-1" is in tier "Standard"
      And account "HS-2" could not be decided because "'29/10/2026' is not a date in the declared format (epoch_ms)"

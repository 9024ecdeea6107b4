"""CRM profiles: how one CRM's export maps onto kamrules facts, kept apart from the policy.

Use one with ``kamrules evaluate rules/ export.csv --crm salesforce`` (a shipped name or a
file), ``Engine(rulebook).with_profile("hubspot")`` or ``engine.decide(raw, as_of=...,
profile="dynamics")``; every decision then names the profile and its hash beside the
rulebook. ``kamrules profile check PROFILE ACCOUNTS`` shows what a profile fills before
anything is decided. Core only: pydantic and PyYAML (the polars form is in
:mod:`kamrules.crm.frames`, imported when a frame is converted).
"""

from kamrules.crm.check import ProfileReport, check_profile
from kamrules.crm.profile import BoundProfile, Profile, ProfiledValidator, ProfileError, load_profile, shipped_profiles

__all__ = [
    "BoundProfile",
    "Profile",
    "ProfileError",
    "ProfileReport",
    "ProfiledValidator",
    "check_profile",
    "load_profile",
    "shipped_profiles",
]

"""The CRM profiles shipped with kamrules, as package data: ``salesforce``, ``hubspot``, ``dynamics``."""

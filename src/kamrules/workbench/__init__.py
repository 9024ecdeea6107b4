"""The policy owner's workbench: lint a rulebook, see the impact of a change before it
ships, ask what it would take for an account to reach a tier, and which weights matter."""

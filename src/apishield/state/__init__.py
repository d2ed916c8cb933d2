"""Backends of the state interface (`apishield.stateful.State`)."""

"""exporters part of inferwatch."""

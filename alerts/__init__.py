"""alerts part of inferwatch."""

"""drift part of inferwatch."""

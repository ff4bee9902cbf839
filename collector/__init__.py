"""collector part of inferwatch."""

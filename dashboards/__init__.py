"""dashboards part of inferwatch."""

"""Multivariate drift."""

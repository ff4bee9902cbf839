"""SLO specs turned into multi-window burn-rate rules (Sloth semantics).

Public modules: ``cli``, ``files``, ``rules``, ``spec``.
"""

__all__ = ["cli", "files", "rules", "spec"]

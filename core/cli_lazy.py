"""Sub-commands imported when they are run, not when ``--help`` lists them.

A ``LazyGroup`` knows its lazy sub-commands by import path (see ``registry.py``) and
their one-line help; listing them costs no import, running one imports just that one.
A target is a Typer app (a group of verbs) or a plain function (one verb).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup

from inferwatch.registry import CliGroup, import_target


class LazyGroup(TyperGroup):
    """A Typer group whose ``lazy`` sub-commands are imported on first use."""

    lazy: ClassVar[Mapping[str, CliGroup]] = {}
    _listing: bool = False

    def list_commands(self, ctx: Any) -> list[str]:
        """Eager commands first, then the lazy ones, in registration order."""
        return [*super().list_commands(ctx), *(n for n in self.lazy if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command, importing a lazy one unless only its help line is wanted."""
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        entry = self.lazy[cmd_name]
        if self._listing:
            return TyperCommand(cmd_name, help=entry.help)
        command = _as_command(import_target(entry.target), cmd_name)
        self.add_command(command, cmd_name)
        return command

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """As Typer's, with the lazy names among the "did you mean" suggestions."""
        if args and args[0] not in self.commands and args[0] not in self.lazy:
            close = difflib.get_close_matches(args[0], [*self.commands, *self.lazy])
            if close:
                ctx.fail(f"No such command {args[0]!r}. Did you mean {close[0]!r}?")
        return super().resolve_command(ctx, args)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """Help for this group: lists lazy commands by their registered line."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def _as_command(target: Any, name: str) -> Any:
    command: Any
    if isinstance(target, typer.Typer):  # a group even with one verb (`slo generate`)
        command = typer.main.get_group(target)
    else:  # a verb function: a one-command app gives its click command
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


def lazy_group(entries: Mapping[str, CliGroup]) -> type[LazyGroup]:
    """A ``LazyGroup`` class for ``typer.Typer(cls=...)`` with these lazy sub-commands."""
    return type("LazyGroup", (LazyGroup,), {"lazy": dict(entries)})

"""Click parameter types shared by the commands (backend URLs checked before any work)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import click

from durastate.connect import BackendURL, InvalidURLError, mask_url, parse_url

if TYPE_CHECKING:  # click >= 8.2 types ParamType by its value; older click is not generic
    _ParamBase = click.ParamType[BackendURL, Any]
    _DurationBase = click.ParamType[float, Any]
else:
    _ParamBase = click.ParamType
    _DurationBase = click.ParamType


class BackendURLType(_ParamBase):
    """A backend URL; a malformed one is a usage error (exit status 2), password masked."""

    name = "URL"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> BackendURL:
        if isinstance(value, BackendURL):
            return value
        if isinstance(value, str) and value.lower().startswith("langgraph+"):
            self.fail(
                f"{mask_url(value)}: an official LangGraph backend can only be the SOURCE of"
                " copy or export",
                param,
                ctx,
            )
        try:
            return parse_url(value)
        except InvalidURLError as exc:
            self.fail(str(exc), param, ctx)


class SourceURLType(BackendURLType):
    """A backend URL, or an official LangGraph backend's (``langgraph+sqlite:///old.db``)."""

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> BackendURL:
        from durastate.migrate.official import is_official, parse_official

        if isinstance(value, BackendURL) or not is_official(value):
            return super().convert(value, param, ctx)
        try:
            return parse_official(value)
        except InvalidURLError as exc:
            self.fail(str(exc), param, ctx)


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


class DurationType(_DurationBase):
    """A duration such as ``90s``, ``15m``, ``12h``, ``30d`` or ``2w``; answers seconds."""

    name = "DURATION"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        text = str(value).strip().lower()
        unit = _UNITS.get(text[-1:]) if text else None
        try:
            amount = float(text[:-1]) if unit is not None else math.nan
        except ValueError:
            amount = math.nan
        if unit is None or not math.isfinite(amount) or amount <= 0:
            self.fail(f"{value!r} is not a duration like 90s, 15m, 12h, 30d or 2w", param, ctx)
        return amount * unit


BACKEND_URL = BackendURLType()
DURATION = DurationType()
SOURCE_URL = SourceURLType()

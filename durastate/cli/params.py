"""Click parameter types shared by the commands (backend URLs checked before any work)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from durastate.connect import BackendURL, InvalidURLError, mask_url, parse_url

if TYPE_CHECKING:  # click >= 8.2 types ParamType by its value; older click is not generic
    _ParamBase = click.ParamType[BackendURL, Any]
else:
    _ParamBase = click.ParamType


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


BACKEND_URL = BackendURLType()
SOURCE_URL = SourceURLType()

"""The destination store's semantic index from command-line options (--embed, --index-dims)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

import click

from durastate.store.vectors import DISTANCE_TYPES

F = TypeVar("F", bound=Callable[..., Any])


def index_options(fn: F) -> F:
    """--embed, --index-dims, --index-field and --distance."""
    for option in reversed(
        (
            click.option(
                "--embed",
                metavar="SPEC",
                help="Embedder for the destination store's index: 'module:attribute' (an"
                " Embeddings object or a function of a list of texts) or a LangChain"
                " 'provider:model' name. Items whose vectors do not fit are embedded with it.",
            ),
            click.option(
                "--index-dims",
                type=click.IntRange(min=1),
                help="Dimensions of the destination's index (with --embed).",
            ),
            click.option(
                "--index-field",
                "index_fields",
                multiple=True,
                metavar="PATH",
                help="Field to embed (repeatable; with --embed); default: the whole value.",
            ),
            click.option(
                "--distance",
                type=click.Choice(DISTANCE_TYPES),
                default="cosine",
                show_default=True,
                help="Distance of the destination's index (with --embed).",
            ),
        )
    ):
        fn = option(fn)
    return fn


def resolve_embedder(spec: str) -> Any:
    """``module:attribute`` when that module has the attribute, else the text as given."""
    module_name, sep, attribute = spec.partition(":")
    if sep and module_name and attribute.isidentifier():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name.split(".")[0] and exc.name != module_name:
                raise
        else:
            if hasattr(module, attribute):
                return getattr(module, attribute)
            raise click.BadParameter(
                f"{module_name} has no attribute {attribute!r}", param_hint="'--embed'"
            )
    return spec


def index_config(kw: dict[str, Any]) -> dict[str, Any] | None:
    """The ``index=`` for the destination store, or None without --embed."""
    spec = kw.pop("embed", None)
    dims = kw.pop("index_dims", None)
    fields = list(kw.pop("index_fields", ()) or ())
    distance = kw.pop("distance", "cosine")
    if spec is None:
        if dims is not None or fields:
            raise click.UsageError("--index-dims and --index-field need --embed")
        return None
    if dims is None:
        raise click.UsageError("--embed needs --index-dims")
    config: dict[str, Any] = {
        "dims": dims,
        "embed": resolve_embedder(spec),
        "distance_type": distance,
    }
    if fields:
        config["fields"] = fields
    return config

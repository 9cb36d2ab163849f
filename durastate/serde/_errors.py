"""Serialization errors that name where in a value the failure is, with label prefixes."""

from __future__ import annotations

from typing import Literal

from durastate.errors import SerializationError

StepKind = Literal["key", "index", "field"]
Step = tuple[StepKind, object]


def render_step(step: Step) -> str:
    """One path step as text: ``['key']`` for mapping keys, ``[3]`` for
    positions, ``'name'`` for fields of an object."""
    kind, value = step
    if kind == "index":
        return f"[{value}]"
    if kind == "key":
        return f"[{value!r}]"
    return repr(value)


def _path_value(value: object) -> str | int:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return value
    return repr(value)


class UnserializableValueError(SerializationError):
    """A value could not be serialized; ``.path`` locates it, ``.reason`` says why.

    ``str(err)`` reads like ``['messages'] -> [3] -> 'artifact': cannot
    serialize object of type Foo``; with a label (see
    :func:`serialization_error_with_prefix`) it reads ``channel 'messages' ->
    [3] -> 'artifact': ...``. ``.path`` holds the raw steps (keys, positions
    and field names) and ``.label`` the prefix, if any.
    """

    def __init__(
        self,
        reason: str,
        steps: tuple[Step, ...] = (),
        label: str | None = None,
    ) -> None:
        self.reason = reason
        self.steps = steps
        self.label = label
        parts = [render_step(s) for s in steps]
        if label:
            parts.insert(0, label)
        where = " -> ".join(parts) if parts else "value"
        super().__init__(f"{where}: {reason}", tuple(_path_value(v) for _, v in steps))


def serialization_error_with_prefix(err: SerializationError, label: str) -> SerializationError:
    """Return a copy of ``err`` whose message starts with ``label``.

    Savers call this to say which part of a checkpoint failed, e.g.
    ``serialization_error_with_prefix(err, "channel 'messages'")`` gives
    ``channel 'messages' -> [3] -> 'artifact': cannot serialize object of
    type Foo``. A label already on ``err`` stays, after the new one.
    """
    if isinstance(err, UnserializableValueError):
        combined = f"{label} -> {err.label}" if err.label else label
        new: SerializationError = UnserializableValueError(err.reason, err.steps, combined)
    else:
        new = SerializationError(f"{label}: {err}", err.path)
    new.__cause__ = err.__cause__
    return new

"""Turn pydantic validation errors into one human line with the YAML location."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from siteselect._errors import ConfigError
from siteselect.config.yaml_doc import PathKey, YamlDocument, dotted_loc

_DISCRIMINATORS = ("kind", "fn")


def clean_loc(loc: tuple[Any, ...], data: Any) -> PathKey:
    """Drop the union-member tags pydantic inserts (e.g. the ``kind`` value) from ``loc``."""
    cleaned: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part not in node and _is_tag(node, part):
            continue
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_list or (isinstance(node, dict) and part in node):
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and ("[" in part or "-" in part):
            continue  # pydantic's names for union members (function-before[...] etc.)
        else:
            node = None
        cleaned.append(part)
    return tuple(cleaned)


def _is_tag(node: dict[str, Any], part: Any) -> bool:
    return any(node.get(key) == part for key in _DISCRIMINATORS) or (
        isinstance(part, str) and ("[" in part or part in {"str", "dict"})
    )


def _unwrap(annotation: Any, node: Any) -> Any:
    """The model class (or dict/list annotation) that validated ``node``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0], node)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        for member in members:
            if (
                isinstance(member, type)
                and issubclass(member, BaseModel)
                and _matches(member, node)
            ):
                return member
        for member in members:
            unwrapped = _unwrap(member, node)
            if isinstance(unwrapped, type) and issubclass(unwrapped, BaseModel):
                return unwrapped
        return members[0] if members else None
    return annotation


def _matches(model: type[BaseModel], node: Any) -> bool:
    if not isinstance(node, dict):
        return False
    for key in _DISCRIMINATORS:
        field = model.model_fields.get(key)
        if field is not None and key in node:
            return node[key] in typing.get_args(field.annotation)
    return True


def allowed_keys(root: type[BaseModel], loc: PathKey, data: Any) -> list[str]:
    """Field names allowed at ``loc`` (the mapping that holds an unknown key)."""
    current: Any = root
    node = data
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            node = node.get(part) if isinstance(node, dict) else None
            current = _unwrap(field.annotation, node)
        elif typing.get_origin(current) is dict:
            node = node.get(part) if isinstance(node, dict) else None
            current = _unwrap(typing.get_args(current)[1], node)
        else:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [name for name, f in current.model_fields.items() if not f.exclude]
    return []


def _discriminator(ctx: dict[str, Any]) -> str:
    return str(ctx.get("discriminator", "kind")).strip("'\"")


def _tags(ctx: dict[str, Any]) -> list[str]:
    return [t.strip(" '\"") for t in str(ctx.get("expected_tags", "")).split(",")]


def _shown(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters (a 400-digit number stays readable)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _message(error: dict[str, Any], loc: PathKey, data: Any, root: type[BaseModel]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    given = error.get("input")
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        allowed = allowed_keys(root, loc[:-1], data)
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        listing = f"; allowed: {', '.join(allowed)}" if allowed and not close else ""
        return f"unknown key {key!r}{hint}{listing}"
    if kind == "missing":
        return "required field is missing"
    bounds = {
        "greater_than_equal": ">=",
        "greater_than": ">",
        "less_than_equal": "<=",
        "less_than": "<",
    }
    if kind in bounds:
        limit = next(iter(ctx.values()), "?")
        limit = f"{limit:g}" if isinstance(limit, (int, float)) else limit
        return f"must be {bounds[kind]} {limit} (got {_shown(given)})"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '?')} (got {given!r})"
    if kind == "union_tag_invalid":
        close = difflib.get_close_matches(str(ctx.get("tag")), _tags(ctx), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        choices = ctx.get("expected_tags")
        return f"unknown {_discriminator(ctx)} {ctx.get('tag')!r}; {hint}choose one of {choices}"
    if kind == "union_tag_not_found":
        return f"missing '{_discriminator(ctx)}'"
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        return f"must be a number (got {_shown(given)})"
    if kind == "finite_number":
        return f"must be a finite number (got {_shown(given)})"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of settings (got {given!r})"
    if kind == "too_short":
        return "must not be empty"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def first_error(exc: ValidationError, doc: YamlDocument, root: type[BaseModel]) -> ConfigError:
    """The earliest (by YAML line) validation error as a one-line :class:`ConfigError`.

    Missing fields come after the other problems (see the comment below).

    When there are several, the message says how many more and that ``--debug``
    lists them all (the full list is attached as ``error.all_messages``).
    """
    items = []
    for error in exc.errors(include_url=False):
        loc = clean_loc(tuple(error["loc"]), doc.data)
        if error["type"] == "union_tag_invalid":
            loc = (*loc, _discriminator(error.get("ctx") or {}))
        line = doc.line_of(loc) or 0
        # A missing field is often the other half of a typo ('critera:'): report the
        # misspelt key (which has a line) before the field it failed to provide.
        items.append((error["type"] == "missing", line, loc, _message(error, loc, doc.data, root)))
    items.sort(key=lambda item: item[:2])
    messages = [
        f"{doc.where(loc)}: {dotted_loc(loc) or '(top level)'}: {m}" for _, _, loc, m in items
    ]
    text = messages[0]
    if len(messages) > 1:
        text += f" (and {len(messages) - 1} more problem(s); --debug lists them)"
    error = ConfigError(text)
    error.all_messages = messages  # type: ignore[attr-defined]
    return error

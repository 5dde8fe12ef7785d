"""YAML loading that remembers where every key came from, safely.

The file is composed once into a node tree with PyYAML's safe loader, checked,
then constructed into plain data; the 1-based line of every mapping key and
sequence item is kept, indexed by its path (``("criteria", "seismic", "weight")
-> 14``), so that error messages point at the line a user has to edit.

The checks, before anything walks the data:

* **bounded size**: aliases may share a node many times; the tree's size with
  every alias expanded is counted (memoised per node, so without expanding
  anything) and a document beyond :data:`MAX_NODES` values or nested deeper
  than :data:`MAX_DEPTH` is refused (an "alias bomb" fails in milliseconds
  instead of exhausting memory); a recursive alias is refused too;
* **no duplicate keys**: a key given twice in one mapping is an error naming
  both lines (YAML would silently keep the last one); merge keys (``<<``) may
  still be overridden, as YAML intends;
* **tabs**: YAML forbids tabs for indentation; the message says so, with the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from siteselect._errors import ConfigError

PathKey = tuple[str | int, ...]

MAX_NODES = 100_000
"""Most values (mappings, sequences, scalars, aliases expanded) a config may hold."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and sequences a config may have."""
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    """The safe loader, also reading YAML 1.2 numbers such as ``1e3`` or ``1e308`` as floats.

    PyYAML follows YAML 1.1, where an exponent needs a dot and a sign
    (``1.0e+3``) and ``1e3`` is a string: a weight written ``1e3`` would then be
    refused as "not a number".
    """


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


@dataclass
class YamlDocument:
    """A parsed YAML file: its data and the line of every key path."""

    path: Path
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, loc: PathKey) -> int | None:
        """Line of the deepest existing prefix of ``loc`` (None if not even the root)."""
        for end in range(len(loc), 0, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None

    def where(self, loc: PathKey) -> str:
        """``file:line`` for ``loc`` (``file`` alone when no line is known)."""
        line = self.line_of(loc)
        return f"{display_path(self.path)}:{line}" if line else display_path(self.path)

    def error(self, loc: PathKey, message: str) -> ConfigError:
        """Build the one-line error ``file:line: dotted.loc: message``."""
        dotted = dotted_loc(loc)
        prefix = f"{self.where(loc)}: {dotted}: " if dotted else f"{self.where(loc)}: "
        return ConfigError(prefix + message)


def dotted_loc(loc: PathKey) -> str:
    """``("criteria", "seismic", "weight")`` -> ``criteria.seismic.weight``; ints as ``[i]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def display_path(path: Path) -> str:
    """The path relative to the working directory when below it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _key_text(key_node: yaml.Node) -> str:
    return key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)


def _children(node: yaml.Node) -> list[tuple[str | int, yaml.Node]]:
    """(path part, child) pairs of a node; a mapping's keys are children too."""
    if isinstance(node, yaml.MappingNode):
        out: list[tuple[str | int, yaml.Node]] = []
        for key_node, value_node in node.value:
            out.append(("", key_node))
            out.append((_key_text(key_node), value_node))
        return out
    if isinstance(node, yaml.SequenceNode):
        return list(enumerate(node.value))
    return []


def _check_depth(text: str, shown: str) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH` from the event stream (no recursion)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ConfigError(
                    f"{shown}:{event.start_mark.line + 1}: settings nested more than "
                    f"{MAX_DEPTH} levels deep; a config needs only a few levels"
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


class _Checker:
    """Size, depth, recursion and duplicate-key checks over the composed node tree.

    Every distinct node is visited once (aliases share node objects), so the
    check costs the size of the file, not of the expanded document.
    """

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.sizes: dict[int, int] = {}
        self.active: set[int] = set()

    def fail(self, node: yaml.Node, loc: PathKey, message: str) -> ConfigError:
        dotted = dotted_loc(loc)
        where = f"{self.shown}:{_line(node)}: " + (f"{dotted}: " if dotted else "")
        return ConfigError(where + message)

    def size(self, node: yaml.Node, loc: PathKey) -> int:
        """Values under ``node`` with every alias expanded (memoised per node)."""
        key = id(node)
        if key in self.sizes:
            return self.sizes[key]
        if key in self.active:
            raise self.fail(
                node, loc, "a YAML alias refers to its own anchor (recursive alias); remove it"
            )
        self.active.add(key)
        if isinstance(node, yaml.MappingNode):
            self._check_duplicates(node, loc)
        total = 1
        for part, child in _children(node):
            total += self.size(child, (*loc, part) if part != "" else loc)
        self.active.discard(key)
        if total > MAX_NODES:
            raise self.fail(
                node,
                loc,
                f"YAML aliases expand this to more than {MAX_NODES:,} values "
                "(an alias bomb?); write the settings out or use fewer aliases",
            )
        self.sizes[key] = total
        return total

    def _check_duplicates(self, node: yaml.MappingNode, loc: PathKey) -> None:
        seen: dict[tuple[str, str], yaml.Node] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            ident = (key_node.tag, key_node.value)
            first = seen.setdefault(ident, key_node)
            if first is not key_node:
                raise self.fail(
                    key_node,
                    (*loc, key_node.value),
                    f"key {key_node.value!r} is given twice (lines {_line(first)} and "
                    f"{_line(key_node)}); keep one",
                )


def _collect_lines(node: yaml.Node, prefix: PathKey, out: dict[PathKey, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = (*prefix, _key_text(key_node))
            out[path] = _line(key_node)
            _collect_lines(value_node, path, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            path = (*prefix, index)
            out[path] = _line(item)
            _collect_lines(item, path, out)


def _syntax_error(shown: str, text: str, exc: yaml.MarkedYAMLError) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    if mark is None:
        return ConfigError(f"{shown}: invalid YAML: {problem}")
    lines = text.splitlines()
    source_line = lines[mark.line] if mark.line < len(lines) else ""
    if "\\t" in problem or "\t" in source_line[: mark.column + 1]:
        column = source_line.find("\t") + 1 or mark.column + 1
        indent = source_line[: len(source_line) - len(source_line.lstrip())]
        what = "for indentation" if "\t" in indent else "between items"
        return ConfigError(
            f"{shown}:{mark.line + 1}: YAML does not allow tabs {what} (a tab at column "
            f"{column}); use spaces"
        )
    return ConfigError(f"{shown}:{mark.line + 1}: invalid YAML: {problem}")


def parse_yaml(text: str, shown: str) -> YamlDocument:
    """Compose, check and construct ``text`` (see the module docstring).

    Parameters
    ----------
    text : str
        The YAML source.
    shown : str
        The file name used in messages.

    Raises
    ------
    ConfigError
        Invalid YAML, tabs, duplicate keys, or a document too large or too deep.
    """
    loader = _Loader(text)
    try:
        _check_depth(text, shown)
        root = loader.get_single_node()
        lines: dict[PathKey, int] = {}
        data: Any = None
        if root is not None:
            _Checker(shown).size(root, ())
            data = loader.construct_document(root)
            _collect_lines(root, (), lines)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(shown, text, exc) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{shown}: invalid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(
            f"{shown}: settings nested too deeply to read; a config needs only a few levels"
        ) from None
    finally:
        loader.dispose()
    return YamlDocument(path=Path(shown), data=data, lines=lines)


def load_yaml(path: Path) -> YamlDocument:
    """Read ``path`` safely and index its key lines (see the module docstring).

    Raises
    ------
    ConfigError
        If the file is missing, unreadable, not valid YAML (with its line), or
        fails one of the checks above.
    """
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{shown}: config file not found") from None
    except UnicodeDecodeError as exc:
        before = path.read_bytes()[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise ConfigError(
            f"{shown}:{line}: the config is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
            f"at column {column}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read config file: {exc.strerror or exc}") from None
    document = parse_yaml(text, shown)
    document.path = path
    return document

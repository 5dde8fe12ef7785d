"""YAML loading that remembers where every key came from.

``yaml.safe_load`` gives the data; a second, equally safe pass
(``yaml.compose`` with the safe loader) gives the node tree, from which we keep
the 1-based line of every mapping key and sequence item, indexed by its path
(``("criteria", "seismic", "weight") -> 14``). Error messages use it to point at
the line a user has to edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from siteselect._errors import ConfigError

PathKey = tuple[str | int, ...]


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


def _collect_lines(node: yaml.Node, prefix: PathKey, out: dict[PathKey, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            path = (*prefix, key)
            out[path] = key_node.start_mark.line + 1
            _collect_lines(value_node, path, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            path = (*prefix, index)
            out[path] = item.start_mark.line + 1
            _collect_lines(item, path, out)


def load_yaml(path: Path) -> YamlDocument:
    """Read ``path`` with ``yaml.safe_load`` and index its key lines.

    Raises
    ------
    ConfigError
        If the file is missing, unreadable or not valid YAML (with its line).
    """
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{shown}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read config file: {exc}") from None
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{shown}{line}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{shown}: invalid YAML: {exc}") from None
    lines: dict[PathKey, int] = {}
    if root is not None:
        _collect_lines(root, (), lines)
    return YamlDocument(path=path, data=data, lines=lines)

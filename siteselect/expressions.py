"""A small, safe arithmetic language over table columns (no ``eval``).

Grammar::

    expr   := term (("+" | "-") term)*
    term   := factor (("*" | "/") factor)*
    factor := ("-" | "+") factor | NUMBER | NAME | "`" any text "`" | "(" expr ")"

``NAME`` is a column name (letters, digits, ``_``); back-quotes allow any
other column name (```edu_total_pop_25+_base```).

>>> import pandas as pd
>>> table = pd.DataFrame({"a": [1.0, 2.0], "b": [10.0, 20.0]})
>>> evaluate("a + b * 0.5", table).tolist()
[6.0, 12.0]
>>> sorted(columns_of("(a + b) / 2"))
['a', 'b']
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|`(?P<quoted>[^`]+)`|(?P<op>[-+*/()]))"
)


class ExpressionError(ValueError):
    """The expression is malformed or names an unknown column."""


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    stripped_end = len(text.rstrip())
    while position < stripped_end:
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ExpressionError(
                f"unexpected character {text[position:].strip()[:1]!r} "
                f"at position {position + 1} in {text!r}"
            )
        kind = match.lastgroup or "op"
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise ExpressionError(f"expression ends too early: {self.text!r}")
        self.index += 1
        return token

    def parse(self) -> tuple:
        if not self.tokens:
            raise ExpressionError("empty expression")
        tree = self.expr()
        if self.peek() is not None:
            token = self.peek()
            raise ExpressionError(
                f"unexpected {token.text!r} at position {token.position + 1} in {self.text!r}"
            )
        return tree

    def expr(self) -> tuple:
        tree = self.term()
        while (token := self.peek()) is not None and token.text in "+-" and token.kind == "op":
            self.take()
            tree = (token.text, tree, self.term())
        return tree

    def term(self) -> tuple:
        tree = self.factor()
        while (token := self.peek()) is not None and token.text in "*/" and token.kind == "op":
            self.take()
            tree = (token.text, tree, self.factor())
        return tree

    def factor(self) -> tuple:
        token = self.take()
        if token.kind == "op" and token.text in "+-":
            operand = self.factor()
            return ("neg", operand) if token.text == "-" else operand
        if token.kind == "number":
            return ("num", float(token.text))
        if token.kind in ("name", "quoted"):
            return ("col", token.text)
        if token.text == "(":
            tree = self.expr()
            closing = self.take()
            if closing.text != ")":
                raise ExpressionError(f"missing ')' in {self.text!r}")
            return tree
        raise ExpressionError(
            f"unexpected {token.text!r} at position {token.position + 1} in {self.text!r}"
        )


def parse(text: str) -> tuple:
    """Parse ``text`` into a small tuple tree; raises :class:`ExpressionError`."""
    return _Parser(text).parse()


def _walk_columns(tree: tuple) -> set[str]:
    if tree[0] == "col":
        return {tree[1]}
    if tree[0] == "num":
        return set()
    return set().union(*(_walk_columns(child) for child in tree[1:]))


def columns_of(text: str) -> set[str]:
    """Column names an expression uses."""
    return _walk_columns(parse(text))


def _eval(tree: tuple, table: pd.DataFrame) -> np.ndarray | float:
    op = tree[0]
    if op == "num":
        return tree[1]
    if op == "col":
        return pd.to_numeric(table[tree[1]], errors="coerce").to_numpy(dtype="float64")
    if op == "neg":
        return -_eval(tree[1], table)
    left, right = _eval(tree[1], table), _eval(tree[2], table)
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(left, right)


def evaluate(text: str, table: pd.DataFrame) -> np.ndarray:
    """Evaluate ``text`` over the columns of ``table``; returns float64 per row.

    Raises
    ------
    ExpressionError
        Malformed expression, or a column ``table`` lacks (with the closest names).
    """
    tree = parse(text)
    for column in sorted(_walk_columns(tree)):
        if column not in table.columns:
            close = difflib.get_close_matches(column, [str(c) for c in table.columns], n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ExpressionError(f"unknown column {column!r} in {text!r}{hint}")
    result = _eval(tree, table)
    return np.broadcast_to(np.asarray(result, dtype="float64"), (len(table),)).copy()

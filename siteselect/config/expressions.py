"""A small, safe arithmetic language over table columns (no ``eval``).

Grammar::

    expr   := term (("+" | "-") term)*
    term   := factor (("*" | "/") factor)*
    factor := ("-" | "+")* (NUMBER | NAME | "`" any text "`" | "(" expr ")")

``NAME`` is a column name (letters, digits, ``_``); back-quotes allow any
other column name (```edu_total_pop_25+_base```).

Limits and meanings:

* nesting (parentheses) deeper than :data:`MAX_NESTING` is refused with a clear
  message (the parser and evaluator recurse once per level, never per term, so
  a sum of thousands of columns is fine);
* a missing input (an empty cell, a value that is not a number) makes the result
  NaN for that row: the caller decides what a missing value means;
* dividing by a value that is exactly 0 is an error (:class:`DivisionByZeroError`,
  with the rows and the divisor), never a silent NaN or infinity.

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


MAX_NESTING = 100
"""Deepest parenthesis nesting an expression may have."""


class ExpressionError(ValueError):
    """The expression is malformed or names an unknown column."""


class DivisionByZeroError(ExpressionError):
    """A divisor is 0 for some rows.

    Attributes
    ----------
    rows : numpy.ndarray
        Positions (0-based, in the table's order) of the rows that divide by zero.
    divisor : str
        The divisor as written in the expression.
    """

    def __init__(self, text: str, divisor: str, rows: np.ndarray) -> None:
        super().__init__(f"{text!r} divides by zero ({divisor} is 0) in {len(rows)} row(s)")
        self.divisor = divisor
        self.rows = rows


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
    """Recursive descent; one recursion level per parenthesis, loops for chains."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise ExpressionError(f"expression ends too early: {self.text!r}")
        self.index += 1
        return token

    def _source(self, first: int) -> str:
        """The text of the tokens from index ``first`` to the last one taken."""
        start = self.tokens[first].position
        last = self.tokens[self.index - 1]
        end = last.position + len(last.text) + (2 if last.kind == "quoted" else 0)
        return self.text[start:end].strip()

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

    def _is_op(self, ops: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "op" and token.text in ops

    def expr(self) -> tuple:
        terms = [("+", self.term())]
        while self._is_op("+-"):
            sign = self.take().text
            terms.append((sign, self.term()))
        return terms[0][1] if len(terms) == 1 else ("sum", tuple(terms))

    def term(self) -> tuple:
        factors = [("*", self.factor(), "")]
        while self._is_op("*/"):
            op = self.take().text
            first = self.index
            factors.append((op, self.factor(), self._source(first)))
        return factors[0][1] if len(factors) == 1 else ("prod", tuple(factors))

    def factor(self) -> tuple:
        negative = False
        while self._is_op("+-"):
            negative ^= self.take().text == "-"
        tree = self.operand()
        return ("neg", tree) if negative else tree

    def operand(self) -> tuple:
        token = self.take()
        if token.kind == "number":
            return ("num", float(token.text))
        if token.kind in ("name", "quoted"):
            return ("col", token.text)
        if token.text == "(":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise ExpressionError(
                    f"parentheses nested more than {MAX_NESTING} levels deep in "
                    f"{_short(self.text)}; simplify the expression"
                )
            tree = self.expr()
            closing = self.take()
            if closing.text != ")":
                raise ExpressionError(f"missing ')' in {_short(self.text)}")
            self.depth -= 1
            return tree
        raise ExpressionError(
            f"unexpected {token.text!r} at position {token.position + 1} in {_short(self.text)}"
        )


def _short(text: str, limit: int = 80) -> str:
    """``text`` quoted, cut to ``limit`` characters for messages."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def parse(text: str) -> tuple:
    """Parse ``text`` into a small tuple tree; raises :class:`ExpressionError`."""
    return _Parser(text).parse()


def _children(tree: tuple) -> list[tuple]:
    if tree[0] in ("num", "col"):
        return []
    if tree[0] == "neg":
        return [tree[1]]
    return [item[1] for item in tree[1]]


def _walk_columns(tree: tuple) -> set[str]:
    if tree[0] == "col":
        return {tree[1]}
    return set().union(*(_walk_columns(child) for child in _children(tree)))


def columns_of(text: str) -> set[str]:
    """Column names an expression uses."""
    return _walk_columns(parse(text))


@dataclass
class _Evaluation:
    table: pd.DataFrame
    zero_rows: np.ndarray
    divisor: str = ""

    def run(self, tree: tuple) -> np.ndarray | float:
        op = tree[0]
        if op == "num":
            return tree[1]
        if op == "col":
            return pd.to_numeric(self.table[tree[1]], errors="coerce").to_numpy(dtype="float64")
        if op == "neg":
            return -self.run(tree[1])
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if op == "sum":
                total: np.ndarray | float = 0.0
                for sign, child in tree[1]:
                    value = self.run(child)
                    total = total + value if sign == "+" else total - value
                return total
            product: np.ndarray | float = 1.0
            for operation, child, source in tree[1]:
                value = self.run(child)
                if operation == "*":
                    product = product * value
                    continue
                zero = np.broadcast_to(np.asarray(value) == 0, self.zero_rows.shape)
                if zero.any() and not self.zero_rows.any():
                    self.divisor = source
                self.zero_rows |= zero
                product = np.divide(product, value)
            return product


def evaluate(text: str, table: pd.DataFrame) -> np.ndarray:
    """Evaluate ``text`` over the columns of ``table``; returns float64 per row.

    Rows with a missing input give NaN.

    Raises
    ------
    DivisionByZeroError
        Some row divides by exactly 0 (its positions and the divisor are attached).
    ExpressionError
        Malformed expression, or a column ``table`` lacks (with the closest names).
    """
    tree = parse(text)
    for column in sorted(_walk_columns(tree)):
        if column not in table.columns:
            close = difflib.get_close_matches(column, [str(c) for c in table.columns], n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ExpressionError(f"unknown column {column!r} in {text!r}{hint}")
    evaluation = _Evaluation(table, np.zeros(len(table), dtype=bool))
    result = evaluation.run(tree)
    if evaluation.zero_rows.any():
        raise DivisionByZeroError(text, evaluation.divisor, np.flatnonzero(evaluation.zero_rows))
    return np.broadcast_to(np.asarray(result, dtype="float64"), (len(table),)).copy()

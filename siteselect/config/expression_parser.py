"""The parser of the expression language (grammar: :mod:`siteselect.config.expressions`).

:func:`parse` (arithmetic) and :func:`parse_condition` (conditions) turn the text into
a small tuple tree, checking types as they go; :func:`columns_of` lists the columns
an expression reads and :func:`check_columns` refuses the ones a table lacks.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass

import numpy as np

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|`(?P<quoted>[^`]+)`"
    r"|'(?P<string>(?:[^']|'')*)'|\"(?P<dstring>(?:[^\"]|\"\")*)\""
    r"|(?P<op><=|>=|==|!=|<>|[-+*/(),<>=]))"
)

MAX_NESTING = 100
"""Deepest parenthesis nesting an expression may have."""

KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})
"""Words that are not column names (back-quote a column so named: ```in```)."""

_COMPARISONS = {
    "=": "==",
    "==": "==",
    "!=": "!=",
    "<>": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
}
_UNCLOSED = re.compile(r"""\s*(['"`])""")


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
            quote = _UNCLOSED.match(text, position)
            if quote is not None:
                raise ExpressionError(
                    f"unclosed {quote.group(1)} at position {quote.start(1) + 1} in {_short(text)}"
                )
            raise ExpressionError(
                f"unexpected character {text[position:].strip()[:1]!r} "
                f"at position {position + 1} in {_short(text)}"
            )
        kind = match.lastgroup or "op"
        value = match.group(kind)
        start = match.start(kind) - (kind in ("quoted", "string", "dstring"))
        if kind == "string":
            value = value.replace("''", "'")
        elif kind == "dstring":
            kind, value = "string", value.replace('""', '"')
        elif kind == "name" and value.lower() in KEYWORDS:
            kind, value = "keyword", value.lower()
        tokens.append(_Token(kind, value, start))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent; one recursion level per parenthesis, loops for chains.

    Every node is a tuple whose first item names it; :meth:`parse` also returns
    the node's type: ``num`` (arithmetic), ``bool`` (a condition), ``str`` (a
    text literal) or ``col`` (a column: number or text, known when evaluated).
    """

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
            raise ExpressionError(f"expression ends too early: {_short(self.text)}")
        self.index += 1
        return token

    def _source(self, first: int) -> str:
        """The text of the tokens from index ``first`` to the last one taken."""
        start = self.tokens[first].position
        last = self.tokens[self.index - 1]
        width = len(last.text) + (2 if last.kind in ("quoted", "string") else 0)
        return self.text[start : last.position + width].strip()

    def parse(self) -> tuple[tuple, str]:
        if not self.tokens:
            raise ExpressionError("empty expression")
        self._check_nesting()
        # about 10 frames per parenthesis level (one per grammar rule)
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 12 * MAX_NESTING + 1000))
        try:
            tree, kind = self.condition()
        finally:
            sys.setrecursionlimit(limit)
        token = self.peek()
        if token is not None:
            raise ExpressionError(
                f"unexpected {token.text!r} at position {token.position + 1} in {_short(self.text)}"
            )
        return tree, kind

    def _check_nesting(self) -> None:
        """Refuse parentheses nested deeper than :data:`MAX_NESTING` before parsing."""
        depth = 0
        for token in self.tokens:
            if token.kind == "op" and token.text in "()":
                depth += 1 if token.text == "(" else -1
                if depth > MAX_NESTING:
                    raise ExpressionError(
                        f"parentheses nested more than {MAX_NESTING} levels deep in "
                        f"{_short(self.text)}; simplify the expression"
                    )

    def _is(self, kind: str, values: tuple[str, ...] | str) -> bool:
        token = self.peek()
        return token is not None and token.kind == kind and token.text in values

    def _want(self, kind: str, got: str, first: int, context: str) -> None:
        """Refuse an operand of the wrong type, quoting it."""
        if got == kind or (kind == "num" and got == "col"):
            return
        what = {"bool": "a condition", "str": "text", "num": "a number", "col": "a column"}[got]
        raise ExpressionError(
            f"{context}: {self._source(first)!r} is {what} in {_short(self.text)}"
        )

    def _chain(self, word: str, operand: str) -> tuple[tuple, str]:
        first = self.index
        tree, kind = getattr(self, operand)()
        if not self._is("keyword", word):
            return tree, kind
        self._want_condition(kind, first, word)
        items = [tree]
        while self._is("keyword", word):
            self.take()
            first = self.index
            tree, kind = getattr(self, operand)()
            self._want_condition(kind, first, word)
            items.append(tree)
        return (word, tuple(items)), "bool"

    def _want_condition(self, kind: str, first: int, word: str) -> None:
        if kind not in ("bool", "col"):
            self._want("bool", kind, first, f"'{word}' joins conditions")

    def condition(self) -> tuple[tuple, str]:
        return self._chain("or", "conjunct")

    def conjunct(self) -> tuple[tuple, str]:
        return self._chain("and", "negation")

    def negation(self) -> tuple[tuple, str]:
        if not self._is("keyword", "not"):
            return self.comparison()
        self.take()
        first = self.index
        tree, kind = self.negation()
        self._want_condition(kind, first, "not")
        return ("not", tree), "bool"

    def comparison(self) -> tuple[tuple, str]:
        first = self.index
        left, kind = self.expr()
        negated = self._is("keyword", "not") and self._next_is_in()
        if negated:
            self.take()
        if self._is("keyword", "in"):
            if kind in ("bool", "str"):
                raise ExpressionError(
                    f"'in' tests a column or a number, not {self._source(first)!r} "
                    f"in {_short(self.text)}"
                )
            self.take()
            return ("in", left, self._literals(), negated), "bool"
        if not self._is("op", tuple(_COMPARISONS)):
            return left, kind
        op = _COMPARISONS[self.take().text]
        second = self.index
        right, right_kind = self.expr()
        for side_kind, start in ((kind, first), (right_kind, second)):
            if side_kind == "bool":
                self._want("num", side_kind, start, f"'{op}' compares values")
        if "str" in (kind, right_kind) and not {kind, right_kind} <= {"str", "col"}:
            raise ExpressionError(
                f"text is compared with a column or text, not with arithmetic: "
                f"{self._source(first)!r} in {_short(self.text)}"
            )
        if "str" in (kind, right_kind) and op not in ("==", "!="):
            raise ExpressionError(
                f"text can only be compared with =, != or in, not {op!r}: "
                f"{self._source(first)!r} in {_short(self.text)}"
            )
        return ("cmp", op, left, right), "bool"

    def _next_is_in(self) -> bool:
        after = self.tokens[self.index + 1] if self.index + 1 < len(self.tokens) else None
        return after is not None and after.kind == "keyword" and after.text == "in"

    def _literals(self) -> tuple:
        if not self._is("op", "("):
            raise ExpressionError(
                f"'in' needs a list in parentheses, e.g. in ('A', 'B'): {_short(self.text)}"
            )
        self.take()
        values: list[float | str] = []
        while True:
            negative = False
            if self._is("op", "-"):
                self.take()
                negative = True
            token = self.take()
            if token.kind == "number":
                values.append(-float(token.text) if negative else float(token.text))
            elif token.kind == "string" and not negative:
                values.append(token.text)
            else:
                raise ExpressionError(
                    f"'in' lists numbers or quoted text, not {token.text!r} "
                    f"(position {token.position + 1} in {_short(self.text)})"
                )
            closing = self.take()
            if closing.text == ")":
                return tuple(values)
            if closing.text != ",":
                raise ExpressionError(
                    f"expected ',' or ')' in the 'in' list of {_short(self.text)}"
                )

    def expr(self) -> tuple[tuple, str]:
        first = self.index
        tree, kind = self.term()
        if not self._is("op", "+-"):
            return tree, kind
        self._want("num", kind, first, "'+' and '-' take numbers")
        terms = [("+", tree)]
        while self._is("op", "+-"):
            sign = self.take().text
            first = self.index
            tree, kind = self.term()
            self._want("num", kind, first, "'+' and '-' take numbers")
            terms.append((sign, tree))
        return ("sum", tuple(terms)), "num"

    def term(self) -> tuple[tuple, str]:
        first = self.index
        tree, kind = self.factor()
        if not self._is("op", "*/"):
            return tree, kind
        self._want("num", kind, first, "'*' and '/' take numbers")
        factors = [("*", tree, "")]
        while self._is("op", "*/"):
            op = self.take().text
            first = self.index
            tree, kind = self.factor()
            self._want("num", kind, first, "'*' and '/' take numbers")
            factors.append((op, tree, self._source(first)))
        return ("prod", tuple(factors)), "num"

    def factor(self) -> tuple[tuple, str]:
        negative = signed = False
        while self._is("op", "+-"):
            signed = True
            negative ^= self.take().text == "-"
        first = self.index
        tree, kind = self.operand()
        if signed:
            self._want("num", kind, first, "a sign applies to a number")
        return (("neg", tree), "num") if negative else (tree, kind)

    def operand(self) -> tuple[tuple, str]:
        token = self.take()
        if token.kind == "number":
            return ("num", float(token.text)), "num"
        if token.kind == "string":
            return ("str", token.text), "str"
        if token.kind in ("name", "quoted"):
            return ("col", token.text), "col"
        if token.kind == "keyword" and token.text in ("true", "false"):
            return ("bool", token.text == "true"), "col"  # a condition, or 1/0 compared
        if token.text == "(":
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise ExpressionError(
                    f"parentheses nested more than {MAX_NESTING} levels deep in "
                    f"{_short(self.text)}; simplify the expression"
                )
            tree, kind = self.condition()
            closing = self.take()
            if closing.text != ")":
                raise ExpressionError(f"missing ')' in {_short(self.text)}")
            self.depth -= 1
            return tree, kind
        raise ExpressionError(
            f"unexpected {token.text!r} at position {token.position + 1} in {_short(self.text)}"
        )


def _short(text: str, limit: int = 80) -> str:
    """``text`` quoted, cut to ``limit`` characters for messages."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def parse(text: str) -> tuple:
    """Parse arithmetic ``text`` into a small tuple tree; raises :class:`ExpressionError`.

    A condition (a comparison, ``and``...) is refused: a number is expected.
    """
    tree, kind = _Parser(text).parse()
    if kind not in ("num", "col"):
        raise ExpressionError(
            f"{_short(text)} is {'a condition' if kind == 'bool' else 'text'}, not a number"
        )
    return tree


def parse_condition(text: str) -> tuple:
    """Parse a condition (``land_use = 'VACANT' and acres > 10``); raises :class:`ExpressionError`.

    Arithmetic alone (``acres * 2``) is refused: a condition is expected. A bare
    column is a condition (it must hold true/false values).
    """
    tree, kind = _Parser(text).parse()
    if kind not in ("bool", "col"):
        raise ExpressionError(
            f"{_short(text)} is {'a number' if kind == 'num' else 'text'}, not a condition; "
            "compare it (e.g. acres > 10, land_use = 'VACANT')"
        )
    return tree


def _children(tree: tuple) -> list[tuple]:
    op = tree[0]
    if op in ("num", "col", "str", "bool"):
        return []
    if op in ("neg", "not"):
        return [tree[1]]
    if op in ("and", "or"):
        return list(tree[1])
    if op == "cmp":
        return [tree[2], tree[3]]
    if op == "in":
        return [tree[1]]
    return [item[1] for item in tree[1]]


def _walk_columns(tree: tuple) -> set[str]:
    if tree[0] == "col":
        return {tree[1]}
    return set().union(*(_walk_columns(child) for child in _children(tree)))


def columns_of(text: str) -> set[str]:
    """Column names an expression (arithmetic or condition) uses."""
    return _walk_columns(_Parser(text).parse()[0])


def check_columns(text: str, tree: tuple, columns: list[str]) -> None:
    """Raise :class:`ExpressionError` naming a column of ``tree`` not in ``columns``.

    The message gives the closest names and the columns available.
    """
    for column in sorted(_walk_columns(tree)):
        if column not in columns:
            close = difflib.get_close_matches(column, columns, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            listed = ", ".join(columns[:30]) + (", ..." if len(columns) > 30 else "")
            raise ExpressionError(
                f"unknown column {column!r} in {_short(text)}{hint} (columns: {listed or 'none'})"
            )

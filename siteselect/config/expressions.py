"""A small, safe expression language over table columns (no ``eval``).

Two uses: arithmetic (a population: ``hh_75K + hh_100K``) and conditions (a
candidate filter: ``land_use in ('VACANT', 'AGRICULTURAL') and assessed_usd /
acres < 2000000``). Grammar::

    condition  := conjunct ("or" conjunct)*
    conjunct   := negation ("and" negation)*
    negation   := "not" negation | comparison
    comparison := expr [("=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=") expr
                        | ["not"] "in" "(" literal ("," literal)* ")"]
    expr       := term (("+" | "-") term)*
    term       := factor (("*" | "/") factor)*
    factor     := ("-" | "+")* (NUMBER | STRING | NAME | "true" | "false"
                                | "`" any text "`" | "(" condition ")")
    literal    := ["-"] NUMBER | STRING

``NAME`` is a column name (letters, digits, ``_``); back-quotes allow any other
column name (```edu_total_pop_25+_base```, ```in```). ``and``, ``or``, ``not``,
``in``, ``true`` and ``false`` are keywords in any case (``AND`` too).
``STRING`` is quoted with ``'`` or ``"`` (a quote doubled inside stands for
itself: ``'O''Brien'``). Types are checked when the expression is parsed:
arithmetic takes numbers and columns, ``and``/``or``/``not`` take conditions,
text may only be compared with ``=``, ``!=`` and ``in``.

Limits and meanings:

* nesting (parentheses) deeper than :data:`MAX_NESTING` is refused with a clear
  message (the parser and evaluator recurse once per level, never per term, so
  a sum of thousands of columns is fine);
* a missing input (an empty cell, a value that is not a number where a number
  is needed) makes an arithmetic result NaN for that row, and a comparison
  *unknown*: conditions follow SQL's three-valued logic (``unknown and false``
  is false, ``unknown or true`` is true, ``not unknown`` is unknown) and a
  filter keeps only the rows where the condition is known to be true;
* a column compared with text is compared as text (a number column by its
  digits: ``100.0`` reads ``100``); compared with a number, as numbers (text
  that is not a number is missing); a bare column as a condition must hold
  true/false values;
* dividing by a value that is exactly 0 is an error (:class:`DivisionByZeroError`,
  with the rows and the divisor), never a silent NaN or infinity, unless
  ``and``/``or`` decide the row without it (``acres > 0 and value / acres < 5``
  is false, not an error, where ``acres`` is 0).

>>> import pandas as pd
>>> table = pd.DataFrame({"a": [1.0, 2.0], "b": [10.0, 20.0], "use": ["VACANT", "HOME"]})
>>> evaluate("a + b * 0.5", table).tolist()
[6.0, 12.0]
>>> sorted(columns_of("(a + b) / 2"))
['a', 'b']
>>> condition("use in ('VACANT', 'FARM') and b / a >= 10", table).tolist()
[True, False]
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
            return ("bool", token.text == "true"), "bool"
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


def _text(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column as text (numbers by their digits: 100.0 -> "100") and where it has a value."""
    known = series.notna().to_numpy()
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")
        whole = np.isfinite(values) & (np.round(values) == values) & (np.abs(values) < 2**53)
        text = np.where(whole, np.char.mod("%d", np.where(whole, values, 0)), values.astype(str))
        return text.astype(object), known
    return series.astype("string").fillna("").to_numpy(dtype=object), known


_OPS = {
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


@dataclass
class _Evaluation:
    """Vectorised evaluation; each node gives its values and the rows dividing by 0.

    Conditions give ``(value, known, zero)``: three-valued logic, with ``zero``
    the rows whose result needed a division by 0 (cleared where ``and``/``or``
    decide without it).
    """

    table: pd.DataFrame
    divisor: str = ""

    @property
    def n(self) -> int:
        return len(self.table)

    def _none(self) -> np.ndarray:
        return np.zeros(self.n, dtype=bool)

    def number(self, tree: tuple) -> tuple[np.ndarray | float, np.ndarray]:
        op = tree[0]
        if op == "num":
            return tree[1], self._none()
        if op == "col":
            values = pd.to_numeric(self.table[tree[1]], errors="coerce")
            return values.to_numpy(dtype="float64", na_value=np.nan), self._none()
        if op == "neg":
            value, zero = self.number(tree[1])
            return -value, zero
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if op == "sum":
                total: np.ndarray | float = 0.0
                zero = self._none()
                for sign, child in tree[1]:
                    value, child_zero = self.number(child)
                    zero |= child_zero
                    total = total + value if sign == "+" else total - value
                return total, zero
            product: np.ndarray | float = 1.0
            zero = self._none()
            for operation, child, source in tree[1]:
                value, child_zero = self.number(child)
                zero |= child_zero
                if operation == "*":
                    product = product * value
                    continue
                divides = np.broadcast_to(np.asarray(value) == 0, zero.shape)
                if divides.any() and not self.divisor:
                    self.divisor = source
                zero |= divides
                product = np.divide(product, value)
            return product, zero

    def truth(self, tree: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        op = tree[0]
        if op == "bool":
            return np.full(self.n, tree[1]), np.ones(self.n, dtype=bool), self._none()
        if op == "col":
            return self._bool_column(tree[1])
        if op == "not":
            value, known, zero = self.truth(tree[1])
            return ~value, known, zero
        if op in ("and", "or"):
            return self._junction(op, tree[1])
        if op == "in":
            return self._in(tree)
        return self._compare(*tree[1:])

    def _junction(self, op: str, items: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        decided = op == "or"  # the value that decides the junction alone
        value = np.full(self.n, not decided)
        known = np.ones(self.n, dtype=bool)
        zero = self._none()
        decisive = self._none()
        for item in items:
            item_value, item_known, item_zero = self.truth(item)
            decisive |= item_known & (item_value == decided) & ~item_zero
            value = (value | item_value) if decided else (value & item_value)
            known &= item_known
            zero |= item_zero
        value = np.where(decisive, decided, value)
        known = known | decisive
        return value, known, zero & ~decisive

    def _bool_column(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        series = self.table[name]
        if pd.api.types.is_bool_dtype(series.dtype):
            known = series.notna().to_numpy()
            return series.fillna(False).to_numpy(dtype=bool), known, self._none()
        values = series.dropna().astype(str).str.lower()
        if values.isin(["true", "false", "1", "0", "t", "f", "y", "n", "yes", "no"]).all():
            text = series.astype("string").str.lower()
            known = series.notna().to_numpy()
            truth = text.isin(["true", "1", "t", "y", "yes"]).fillna(False).to_numpy(dtype=bool)
            return truth, known, self._none()
        examples = ", ".join(repr(v) for v in series.dropna().astype(str).unique()[:5])
        raise ExpressionError(
            f"column {name!r} is used as a condition but does not hold true/false values "
            f"(it has {examples}); compare it, e.g. {name} = 'Y' or {name} > 0"
        )

    def _side(self, tree: tuple, as_text: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Values of one side of a comparison, as text or as numbers, with known and zero."""
        if tree[0] == "str":
            return np.full(self.n, tree[1], dtype=object), np.ones(self.n, bool), self._none()
        if as_text and tree[0] == "col":
            text, known = _text(self.table[tree[1]])
            return text, known, self._none()
        value, zero = self.number(tree)
        value = np.broadcast_to(np.asarray(value, dtype="float64"), (self.n,))
        return value, ~np.isnan(value), zero

    def _compare(
        self, op: str, left: tuple, right: tuple
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        as_text = "str" in (left[0], right[0])
        a, a_known, a_zero = self._side(left, as_text)
        b, b_known, b_zero = self._side(right, as_text)
        known = a_known & b_known
        with np.errstate(invalid="ignore"):
            value = _OPS[op](a, b).astype(bool) & known
        return value, known & ~(a_zero | b_zero), a_zero | b_zero

    def _in(self, tree: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        _, left, values, negated = tree
        as_text = any(isinstance(v, str) for v in values)
        a, known, zero = self._side(left, as_text)
        if as_text:
            wanted = [v if isinstance(v, str) else _number_text(v) for v in values]
            hit = pd.Series(a, dtype=object).isin(wanted).to_numpy()
        else:
            hit = np.isin(a, np.asarray(values, dtype="float64"))
        value = (~hit if negated else hit) & known
        return value, known & ~zero, zero


def _number_text(value: float) -> str:
    return f"{value:.0f}" if value == round(value) else repr(value)


def evaluate(text: str, table: pd.DataFrame) -> np.ndarray:
    """Evaluate arithmetic ``text`` over the columns of ``table``; returns float64 per row.

    Rows with a missing input give NaN.

    Raises
    ------
    DivisionByZeroError
        Some row divides by exactly 0 (its positions and the divisor are attached).
    ExpressionError
        Malformed expression, a condition where a number is expected, or a column
        ``table`` lacks (with the closest names and the columns available).
    """
    tree = parse(text)
    check_columns(text, tree, [str(c) for c in table.columns])
    evaluation = _Evaluation(table)
    result, zero = evaluation.number(tree)
    if zero.any():
        raise DivisionByZeroError(text, evaluation.divisor, np.flatnonzero(zero))
    return np.broadcast_to(np.asarray(result, dtype="float64"), (len(table),)).copy()


def condition(text: str, table: pd.DataFrame) -> np.ndarray:
    """Evaluate condition ``text`` over ``table``: True where it is known to hold.

    A row where the condition is unknown (a missing input) is False.

    Raises
    ------
    DivisionByZeroError
        A row's result depends on a division by exactly 0.
    ExpressionError
        Malformed condition, a column ``table`` lacks (with the closest names and
        the columns available), or a bare column without true/false values.
    """
    tree = parse_condition(text)
    check_columns(text, tree, [str(c) for c in table.columns])
    evaluation = _Evaluation(table)
    value, known, zero = evaluation.truth(tree)
    if zero.any():
        raise DivisionByZeroError(text, evaluation.divisor, np.flatnonzero(zero))
    return np.asarray(value & known, dtype=bool)

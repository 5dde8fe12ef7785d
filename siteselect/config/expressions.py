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

from dataclasses import dataclass

import numpy as np
import pandas as pd

from siteselect.config.expression_parser import (
    KEYWORDS,
    MAX_NESTING,
    DivisionByZeroError,
    ExpressionError,
    check_columns,
    columns_of,
    parse,
    parse_condition,
)

__all__ = [
    "KEYWORDS",
    "MAX_NESTING",
    "DivisionByZeroError",
    "ExpressionError",
    "check_columns",
    "columns_of",
    "condition",
    "evaluate",
    "parse",
    "parse_condition",
]


def _text(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """A column as text (numbers by their digits: 100.0 -> "100") and where it has a value."""
    known = series.notna().to_numpy()
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        whole = np.isfinite(values) & (np.round(values) == values) & (np.abs(values) < 2**53)
        text = np.where(whole, np.char.mod("%d", np.where(whole, values, 0)), values.astype(str))
        return pd.Series(text.astype(object), index=series.index), known
    if series.dtype == object:  # mixed Python objects: compare their text
        return series.astype("string"), known
    return series, known


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
        if op in ("num", "bool"):
            return float(tree[1]), self._none()
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

    def _side(self, tree: tuple, as_text: bool) -> tuple[object, np.ndarray, np.ndarray]:
        """One side of a comparison, with where it is known and the rows dividing by 0.

        Text: a literal stays a ``str`` and a column a pandas Series (compared
        without copying); numbers: a float64 array.
        """
        if tree[0] == "str":
            return tree[1], np.ones(self.n, bool), self._none()
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
            result = _OPS[op](a, b)
        if isinstance(result, pd.Series):
            result = result.fillna(False).to_numpy(dtype=bool)
        value = np.broadcast_to(np.asarray(result, dtype=bool), (self.n,)) & known
        return value, known & ~(a_zero | b_zero), a_zero | b_zero

    def _in(self, tree: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        _, left, values, negated = tree
        as_text = any(isinstance(v, str) for v in values)
        a, known, zero = self._side(left, as_text)
        if as_text:
            wanted = [v if isinstance(v, str) else _number_text(v) for v in values]
            hit = pd.Series(a).isin(wanted).fillna(False).to_numpy(dtype=bool)
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

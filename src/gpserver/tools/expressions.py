"""Safe expressions: SQL where clauses and field calculations, parsed by a grammar, never ``eval``'d.

Two LALR grammars (lark) turn client text into a parse tree; a small evaluator walks that tree over
whole attribute columns (pandas nullable arrays, SQL null semantics). Only the constructs in the
grammars exist: there is no attribute access, no subscript except ``$feature["Field"]``, no
lambda, no name lookup except fields, and calls reach only the functions in :data:`FUNCTIONS`.

Hard limits, checked before anything is computed: text length (:data:`MAX_LENGTH`), bracket
nesting (:data:`MAX_NESTING`, checked by a linear scan before the parser runs), parse-tree depth
(:data:`MAX_DEPTH`), exponents (:data:`MAX_EXPONENT`) and text results (:data:`MAX_TEXT` per value,
:data:`MAX_TEXT_TOTAL` per column). An expression is first evaluated on one all-null row, so
constant mistakes (``9**9**9**9``, ``'a'*10**9``, unknown functions or fields) fail before the
features are touched. The grammar is documented in ``docs/tools.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal

import numpy as np
import pandas as pd
from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from gpserver.errors import ToolExecutionError
from gpserver.gp.features import FeatureSet

MAX_LENGTH = 10_000
MAX_NESTING = 50
MAX_DEPTH = 200
MAX_EXPONENT = 1000.0
MAX_TEXT = 10_000
MAX_TEXT_TOTAL = 10_000_000

Kind = Literal["number", "text", "date", "bool", "null"]

_KEYWORDS = "\n".join(
    f"_{k}.2: /{k}(?![A-Za-z0-9_])/i" for k in ("OR", "AND", "NOT", "IS", "NULL", "IN", "BETWEEN", "LIKE", "ESCAPE")
)

WHERE_GRAMMAR = (
    r"""
?start: disj
?disj: conj | disj _OR conj -> or_
?conj: neg | conj _AND neg -> and_
?neg: _NOT neg -> not_ | pred
?pred: sum
     | sum COMP sum -> compare
     | sum _IS _NULL -> is_null
     | sum _IS _NOT _NULL -> not_null
     | sum _IN "(" sum ("," sum)* ")" -> in_
     | sum _NOT _IN "(" sum ("," sum)* ")" -> not_in
     | sum _BETWEEN sum _AND sum -> between
     | sum _NOT _BETWEEN sum _AND sum -> not_between
     | sum _LIKE sum [_ESCAPE STRING] -> like
     | sum _NOT _LIKE sum [_ESCAPE STRING] -> not_like
?sum: product | sum ADDOP product -> binop
?product: unary | product MULOP unary -> binop
?unary: "-" unary -> neg | "+" unary | atom
?atom: NUMBER -> number
     | STRING -> sql_string
     | DATEKW STRING -> date
     | _NULL -> null
     | QNAME -> qfield
     | NAME "(" [disj ("," disj)*] ")" -> call
     | NAME -> field
     | "(" disj ")"
ADDOP: "+" | "-" | "||"
MULOP: "*" | "/" | "%"
COMP: "=" | "<>" | "!=" | "<=" | ">=" | "<" | ">"
DATEKW.2: /(date|timestamp)(?=\s*')/i
STRING: /'(?:[^']|'')*'/
QNAME: /"[^"]+"/
NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/
%ignore /\s+/
"""
    + _KEYWORDS
)

CALC_GRAMMAR = r"""
?start: disj
?disj: conj | disj (_OR | "||") conj -> or_
?conj: neg | conj (_AND | "&&") neg -> and_
?neg: _NOT neg -> not_ | comparison
?comparison: sum | sum COMP sum -> compare
?sum: product | sum ADDOP product -> binop
?product: unary | product MULOP unary -> binop
?unary: "-" unary -> neg | "+" unary | power
?power: atom | atom POW unary -> pow
?atom: NUMBER -> number
     | STRING -> py_string
     | BANGFIELD -> bang_field
     | FEATFIELD -> feat_field
     | FEATINDEX -> feat_index
     | NAME "(" [disj ("," disj)*] ")" -> call
     | NAME -> constant
     | "(" disj ")"
ADDOP: "+" | "-"
POW.3: "**"
MULOP: "//" | "*" | "/" | "%"
COMP: "==" | "!=" | "<>" | "<=" | ">=" | "<" | ">"
BANGFIELD: /![A-Za-z_][A-Za-z0-9_]*!/
FEATFIELD: /\$feature\.[A-Za-z_][A-Za-z0-9_]*/i
FEATINDEX: /\$feature\[\s*("[^"]+"|'[^']+')\s*\]/i
STRING: /"(?:[^"\\]|\\.)*"/ | /'(?:[^'\\]|\\.)*'/
NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/
_OR.2: /or(?![A-Za-z0-9_])/
_AND.2: /and(?![A-Za-z0-9_])/
_NOT.2: /not(?![A-Za-z0-9_])/
%ignore /\s+/
"""


@cache
def _parser(dialect: str) -> Lark:
    grammar = WHERE_GRAMMAR if dialect == "sql" else CALC_GRAMMAR
    return Lark(grammar, parser="lalr", maybe_placeholders=True)


class ExpressionError(ToolExecutionError):
    """An expression that cannot be parsed, is not allowed, or fails to evaluate."""


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed, checked expression.

    Attributes:
        text: the source.
        dialect: ``sql`` (where clauses) or ``calc`` (CalculateField: Python/Arcade-like).
        param: the parameter it came from, named in errors.
        tree: the lark parse tree.
    """

    text: str
    dialect: Literal["sql", "calc"]
    param: str
    tree: Tree[Token] | Token


def parse(text: str, *, dialect: Literal["sql", "calc"], param: str) -> Expression:
    """Parse ``text``; raise :class:`ExpressionError` naming ``param`` for anything not allowed."""
    if len(text) > MAX_LENGTH:
        raise _error(param, f"the expression is longer than {MAX_LENGTH} characters")
    _check_nesting(text, param)
    try:
        tree = _parser(dialect).parse(text)
    except UnexpectedInput as exc:
        raise _error(param, _syntax(exc, text)) from None
    except (LarkError, RecursionError):
        raise _error(param, "the expression cannot be parsed") from None
    _check_depth(tree, param)
    return Expression(text, dialect, param, tree)


def _error(param: str, reason: str) -> ExpressionError:
    return ExpressionError(f"Invalid expression in parameter '{param}'", details=[reason])


def _syntax(exc: UnexpectedInput, text: str) -> str:
    pos = getattr(exc, "pos_in_stream", None) or 0
    if isinstance(exc, UnexpectedEOF):
        return "the expression ends too early"
    if isinstance(exc, UnexpectedCharacters):
        at = exc.pos_in_stream or 0
        return f"unexpected character {text[at]!r} at position {at + 1}"
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            return "the expression ends too early"
        return f"unexpected {str(token)!r} at position {(token.start_pos or pos) + 1}"
    return "syntax error"


def _check_nesting(text: str, param: str) -> None:
    """Refuse deep bracket nesting with one linear scan, before the parser sees the text."""
    depth = 0
    quote: str | None = None
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
            if depth > MAX_NESTING:
                raise _error(param, f"brackets are nested deeper than {MAX_NESTING} levels")
        elif ch in ")]":
            depth -= 1


def _check_depth(tree: Tree[Token] | Token, param: str) -> None:
    stack: list[tuple[Tree[Token] | Token, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _error(param, f"the expression is nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, Tree):
            stack.extend((child, depth + 1) for child in node.children if child is not None)


# ---------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Vec:
    """A column of values of one kind (pandas nullable array; NA is null)."""

    kind: Kind
    data: pd.Series


def _num(values: Any, n: int | None = None) -> Vec:
    if n is not None:
        return Vec("number", pd.Series(pd.array([values] * n, dtype="Float64")))
    return Vec("number", pd.Series(pd.array(values, dtype="Float64")))


def _text(values: Any, n: int | None = None) -> Vec:
    if n is not None:
        values = [values] * n
    return Vec("text", pd.Series(pd.array(values, dtype="string")))


def _bool(values: Any) -> Vec:
    return Vec("bool", pd.Series(pd.array(values, dtype="boolean")))


def _null(n: int) -> Vec:
    return Vec("null", pd.Series(pd.array([None] * n, dtype="Float64")))


def _date(values: Any, n: int | None = None) -> Vec:
    if n is not None:
        values = [values] * n
    return Vec("date", pd.Series(pd.to_datetime(pd.Series(values, dtype=object), utc=True, errors="coerce")))


_NUMERIC = {
    "esriFieldTypeSmallInteger", "esriFieldTypeInteger", "esriFieldTypeBigInteger", "esriFieldTypeSingle",
    "esriFieldTypeDouble", "esriFieldTypeOID",
}  # fmt: skip
_TEXTUAL = {"esriFieldTypeString", "esriFieldTypeGUID", "esriFieldTypeGlobalID"}
_DATES = {"esriFieldTypeDate", "esriFieldTypeDateOnly", "esriFieldTypeTimestampOffset"}


def field_kind(field_type: str) -> Kind | None:
    """The expression kind of an Esri field type (``None``: not usable in expressions)."""
    if field_type in _NUMERIC:
        return "number"
    if field_type in _TEXTUAL:
        return "text"
    if field_type in _DATES:
        return "date"
    return None


def _column(fs: FeatureSet | None, name: str, n: int, param: str) -> Vec:
    field = fs.field(name) if fs is not None else None
    if field is None:
        known = ", ".join(f.name for f in fs.fields) if fs is not None else ""
        raise _error(param, f"unknown field '{name}'" + (f" (fields: {known})" if known else ""))
    kind = field_kind(field.type)
    if kind is None:
        raise _error(param, f"field '{field.name}' ({field.type}) cannot be used in expressions")
    if fs is None or n != len(fs):  # the all-null check row
        return Vec(kind, _null(n).data if kind == "number" else _typed_null(kind, n))
    values = fs.column(field.name)
    if kind == "number":
        return Vec(
            "number", pd.Series(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")).astype("Float64")
        )
    if kind == "text":
        return _text([None if v is None else str(v) for v in values])
    numeric = [v if isinstance(v, int | float) and not isinstance(v, bool) else None for v in values]
    if all(v is not None or values[i] is None for i, v in enumerate(numeric)):
        series = pd.to_datetime(pd.Series(numeric, dtype="Float64").astype(object), unit="ms", utc=True)
        return Vec("date", pd.Series(series))
    return _date(values)


def _typed_null(kind: Kind, n: int) -> pd.Series:
    if kind == "text":
        return _text([None] * n).data
    if kind == "date":
        return _date([None] * n).data
    return _null(n).data


# ---------------------------------------------------------------- evaluation


class _Evaluator:
    """Walks a parse tree over ``n`` rows of ``fs`` (``fs=None``: one all-null row, for checking)."""

    def __init__(self, expr: Expression, fs: FeatureSet | None, n: int) -> None:
        self.expr, self.fs, self.n = expr, fs, n

    def fail(self, reason: str) -> ExpressionError:
        return _error(self.expr.param, reason)

    def eval(self, node: Tree[Token] | Token) -> Vec:
        if isinstance(node, Token):  # single-token atoms lifted by ?rules do not occur: all atoms are aliased
            raise self.fail(f"unexpected {str(node)!r}")
        handler: Callable[[list[Any]], Vec] | None = getattr(self, f"_{node.data}", None)
        if handler is None:
            raise self.fail(f"unsupported construct '{node.data}'")
        return handler(node.children)

    # literals and fields
    def _number(self, ch: list[Token]) -> Vec:
        value = float(ch[0])
        if not math.isfinite(value):
            raise self.fail(f"the number {str(ch[0])[:20]}... is too large")
        return _num(value, self.n)

    def _sql_string(self, ch: list[Token]) -> Vec:
        return self._literal_text(ch[0][1:-1].replace("''", "'"))

    def _py_string(self, ch: list[Token]) -> Vec:
        body = ch[0][1:-1]
        out, i = [], 0
        escapes = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}
        while i < len(body):  # the simple escapes only; no \x, \u or \N lookups
            if body[i] == "\\" and i + 1 < len(body):
                out.append(escapes.get(body[i + 1], "\\" + body[i + 1]))
                i += 2
            else:
                out.append(body[i])
                i += 1
        return self._literal_text("".join(out))

    def _literal_text(self, value: str) -> Vec:
        return _text(value, self.n)

    def _date(self, ch: list[Token]) -> Vec:
        raw = ch[1][1:-1]
        try:
            stamp = pd.Timestamp(raw)
        except (ValueError, TypeError):
            raise self.fail(f"'{raw}' is not a date") from None
        stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
        return _date(stamp, self.n)

    def _null(self, ch: list[Token]) -> Vec:
        return _null(self.n)

    def _field(self, ch: list[Token]) -> Vec:
        name = str(ch[0])
        if self.fs is None or self.fs.field(name) is None:
            special = name.upper()
            if special in ("CURRENT_DATE", "CURRENT_TIMESTAMP"):
                now = pd.Timestamp(datetime.now(UTC))
                return _date(now.normalize() if special == "CURRENT_DATE" else now, self.n)
        return _column(self.fs, name, self.n, self.expr.param)

    def _qfield(self, ch: list[Token]) -> Vec:
        return _column(self.fs, ch[0][1:-1], self.n, self.expr.param)

    def _bang_field(self, ch: list[Token]) -> Vec:
        return _column(self.fs, ch[0][1:-1], self.n, self.expr.param)

    def _feat_field(self, ch: list[Token]) -> Vec:
        return _column(self.fs, ch[0].split(".", 1)[1], self.n, self.expr.param)

    def _feat_index(self, ch: list[Token]) -> Vec:
        inner = ch[0][ch[0].index("[") + 1 : ch[0].rindex("]")].strip()
        return _column(self.fs, inner[1:-1], self.n, self.expr.param)

    def _constant(self, ch: list[Token]) -> Vec:
        name = str(ch[0])
        if name in ("True", "true"):
            return _bool([True] * self.n)
        if name in ("False", "false"):
            return _bool([False] * self.n)
        if name in ("None", "null"):
            return _null(self.n)
        raise self.fail(f"unknown name '{name}': write fields as !{name}! or $feature.{name}")

    # operators
    def _neg(self, ch: list[Any]) -> Vec:
        value = self.eval(ch[0])
        if value.kind == "null":
            return value
        self._need(value, "number", "-")
        return Vec("number", -value.data)

    def _not_(self, ch: list[Any]) -> Vec:
        return Vec("bool", ~self._truth(self.eval(ch[0])).data)

    def _and_(self, ch: list[Any]) -> Vec:
        return Vec("bool", self._truth(self.eval(ch[0])).data & self._truth(self.eval(ch[-1])).data)

    def _or_(self, ch: list[Any]) -> Vec:
        return Vec("bool", self._truth(self.eval(ch[0])).data | self._truth(self.eval(ch[-1])).data)

    def _truth(self, v: Vec) -> Vec:
        if v.kind in ("bool", "null"):
            return Vec("bool", v.data.astype("boolean"))
        if v.kind == "number":
            return _bool((v.data != 0).astype("boolean"))
        raise self.fail(f"a {v.kind} value is used where true/false is expected")

    def _need(self, v: Vec, kind: Kind, op: str) -> None:
        if v.kind != kind and v.kind != "null":
            raise self.fail(f"'{op}' needs {kind} values, got {v.kind}")

    def _binop(self, ch: list[Any]) -> Vec:
        left, op, right = self.eval(ch[0]), str(ch[1]), self.eval(ch[2])
        return self.arith(left, op, right)

    def _pow(self, ch: list[Any]) -> Vec:
        return self.arith(self.eval(ch[0]), "**", self.eval(ch[2]))

    def arith(self, left: Vec, op: str, right: Vec) -> Vec:
        """Arithmetic and concatenation with the limits applied."""
        kinds = {left.kind, right.kind}
        if op in ("+", "||") and kinds <= {"text", "null"} and "text" in kinds:
            return self._bounded(Vec("text", left.data.astype("string") + right.data.astype("string")))
        if op == "||":
            return self._bounded(Vec("text", self._as_text(left).data + self._as_text(right).data))
        if op == "*" and "text" in kinds:
            text, count = (left, right) if left.kind == "text" else (right, left)
            self._need(count, "number", "*")
            longest = text.data.str.len().max()
            times = count.data.max()
            if pd.notna(longest) and pd.notna(times) and float(longest) * max(float(times), 0) > MAX_TEXT:
                raise self.fail(f"repeating text would exceed {MAX_TEXT} characters")
            return self._bounded(Vec("text", text.data * count.data.fillna(0).astype("Int64").clip(lower=0)))
        if "null" in kinds and kinds <= {"null", "number"}:
            return _null(self.n)
        self._need(left, "number", op)
        self._need(right, "number", op)
        a, b = left.data.astype("Float64"), right.data.astype("Float64")
        with np.errstate(all="ignore"):
            if op == "**":
                if bool((b.abs() > MAX_EXPONENT).fillna(False).any()):
                    raise self.fail(f"exponents are limited to ±{MAX_EXPONENT:g}")
                result = a**b
                if bool(np.isinf(result.astype("float64").fillna(0)).any()):
                    raise self.fail("the result of '**' is too large")
                return Vec("number", result)
            zero = (b == 0).fillna(False)
            if op in ("/", "//", "%"):
                b = b.mask(zero)  # division by zero gives null
            result = {"+": a + b, "-": a - b, "*": a * b, "/": a / b, "//": a // b, "%": a % b}[op]
        result = result.mask(np.isinf(result.astype("float64").fillna(0)))
        return Vec("number", result)

    def _as_text(self, v: Vec) -> Vec:
        if v.kind == "text":
            return v
        if v.kind == "number":
            return _text([None if pd.isna(x) else _format_number(float(x)) for x in v.data])
        if v.kind == "date":
            return _text([None if pd.isna(x) else x.isoformat() for x in v.data])
        if v.kind == "bool":
            return _text([None if pd.isna(x) else str(bool(x)) for x in v.data])
        return _text([None] * self.n)

    def _bounded(self, v: Vec) -> Vec:
        lengths = v.data.str.len().fillna(0)
        if len(lengths) and int(lengths.max()) > MAX_TEXT:
            raise self.fail(f"a text value would exceed {MAX_TEXT} characters")
        if int(lengths.sum()) > MAX_TEXT_TOTAL:
            raise self.fail(f"the text results would exceed {MAX_TEXT_TOTAL} characters")
        return v

    # predicates
    def _compare(self, ch: list[Any]) -> Vec:
        return self.compare(self.eval(ch[0]), str(ch[1]), self.eval(ch[2]))

    def compare(self, left: Vec, op: str, right: Vec) -> Vec:
        """A comparison with SQL null semantics (null compared with anything is null)."""
        if "null" in (left.kind, right.kind):
            return _bool([None] * self.n)
        if {left.kind, right.kind} == {"date", "text"}:
            left, right = (self._to_date(left), self._to_date(right))
        if left.kind == "bool" or right.kind == "bool":
            left, right = self._as_number(left), self._as_number(right)
        if left.kind != right.kind:
            raise self.fail(f"cannot compare {left.kind} with {right.kind}")
        a, b = left.data, right.data
        ops: dict[str, Callable[[], Any]] = {
            "=": lambda: a == b, "==": lambda: a == b, "<>": lambda: a != b, "!=": lambda: a != b,
            "<": lambda: a < b, "<=": lambda: a <= b, ">": lambda: a > b, ">=": lambda: a >= b,
        }  # fmt: skip
        result = pd.Series(ops[op](), dtype="boolean")
        result[(a.isna() | b.isna()).to_numpy(dtype=bool)] = pd.NA
        return Vec("bool", result)

    def _to_date(self, v: Vec) -> Vec:
        return v if v.kind == "date" else _date(list(v.data.astype(object)))

    def _as_number(self, v: Vec) -> Vec:
        if v.kind in ("bool", "number"):
            return Vec("number", v.data.astype("Float64"))
        raise self.fail(f"cannot compare {v.kind} with a boolean")

    def _is_null(self, ch: list[Any]) -> Vec:
        return _bool(self.eval(ch[0]).data.isna().to_numpy())

    def _not_null(self, ch: list[Any]) -> Vec:
        return _bool(~self.eval(ch[0]).data.isna().to_numpy())

    def _in_(self, ch: list[Any]) -> Vec:
        value = self.eval(ch[0])
        out = _bool([False] * self.n).data
        for item in ch[1:]:
            out = out | self.compare(value, "=", self.eval(item)).data
        return Vec("bool", out)

    def _not_in(self, ch: list[Any]) -> Vec:
        return Vec("bool", ~self._in_(ch).data)

    def _between(self, ch: list[Any]) -> Vec:
        value = self.eval(ch[0])
        low = self.compare(value, ">=", self.eval(ch[1])).data
        return Vec("bool", low & self.compare(value, "<=", self.eval(ch[2])).data)

    def _not_between(self, ch: list[Any]) -> Vec:
        return Vec("bool", ~self._between(ch).data)

    def _like(self, ch: list[Any]) -> Vec:
        value, pattern = self.eval(ch[0]), self.eval(ch[1])
        escape = ch[2][1:-1].replace("''", "'") if ch[2] is not None else None
        if escape is not None and len(escape) != 1:
            raise self.fail("ESCAPE takes a single character")
        if "null" in (value.kind, pattern.kind):
            return _bool([None] * self.n)
        self._need(value, "text", "LIKE")
        self._need(pattern, "text", "LIKE")
        out = [
            None if pd.isna(v) or pd.isna(p) else like_match(str(v), str(p), escape)
            for v, p in zip(value.data, pattern.data, strict=True)
        ]
        return _bool(out)

    def _not_like(self, ch: list[Any]) -> Vec:
        return Vec("bool", ~self._like(ch).data)

    # functions
    def _call(self, ch: list[Any]) -> Vec:
        name = str(ch[0])
        spec = FUNCTIONS.get(name.lower())
        if spec is None:
            raise self.fail(f"unknown function '{name}'; allowed: {', '.join(sorted(FUNCTIONS))}")
        args = [self.eval(a) for a in ch[1:] if a is not None]
        low, high = spec.arity
        if not low <= len(args) <= high:
            want = str(low) if low == high else f"{low} to {high if high < 99 else 'any'}"
            raise self.fail(f"{name}() takes {want} arguments, got {len(args)}")
        return spec.fn(self, args)


def like_match(text: str, pattern: str, escape: str | None = None) -> bool:
    """SQL LIKE (``%`` any run, ``_`` one character), linear-time greedy matching, no regex."""
    tokens: list[str | None] = []  # None = '%', '' = '_', else a literal char
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if escape is not None and c == escape and i + 1 < len(pattern):
            tokens.append(pattern[i + 1])
            i += 2
            continue
        tokens.append(None if c == "%" else "" if c == "_" else c)
        i += 1
    t = p = 0
    star, mark = -1, 0
    while t < len(text):
        if p < len(tokens) and tokens[p] is not None and (tokens[p] == "" or tokens[p] == text[t]):
            t, p = t + 1, p + 1
        elif p < len(tokens) and tokens[p] is None:
            star, mark, p = p, t, p + 1
        elif star >= 0:
            p, mark = star + 1, mark + 1
            t = mark
        else:
            return False
    while p < len(tokens) and tokens[p] is None:
        p += 1
    return p == len(tokens)


def _format_number(x: float) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


# ---------------------------------------------------------------- the function allow-list


@dataclass(frozen=True, slots=True)
class Function:
    """An allowed function: its arity range and its vectorised implementation."""

    arity: tuple[int, int]
    fn: Callable[[_Evaluator, list[Vec]], Vec]


def _numeric(fn: Callable[..., Any], arity: tuple[int, int] = (1, 1)) -> Function:
    def run(ev: _Evaluator, args: list[Vec]) -> Vec:
        for a in args:
            ev._need(a, "number", "function")
        with np.errstate(all="ignore"):
            out = pd.Series(fn(*[a.data.astype("Float64") for a in args]), dtype="Float64")
        return Vec("number", out.mask(np.isinf(out.astype("float64").fillna(0))))

    return Function(arity, run)


def _stringy(fn: Callable[..., pd.Series], arity: tuple[int, int] = (1, 1)) -> Function:
    def run(ev: _Evaluator, args: list[Vec]) -> Vec:
        ev._need(args[0], "text", "function")
        for a in args[1:]:
            ev._need(a, "number", "function")
        result = fn(args[0].data.astype("string"), *[a.data for a in args[1:]])
        if result.dtype == "string":
            return ev._bounded(Vec("text", result))
        return Vec("number", result.astype("Float64"))

    return Function(arity, run)


def _round(x: pd.Series, digits: pd.Series | None = None) -> pd.Series:
    if digits is None:
        return x.round(0)
    d = digits.dropna()
    if d.nunique() > 1:
        raise ValueError("round() needs one number of digits for all features")
    places = int(d.iloc[0]) if len(d) else 0
    return x.round(max(-15, min(15, places)))


def _minmax(kind: str) -> Function:
    def run(ev: _Evaluator, args: list[Vec]) -> Vec:
        kinds = {a.kind for a in args} - {"null"}
        if len(kinds) > 1:
            raise ev.fail(f"{kind}() needs values of one kind")
        frame = pd.concat([a.data.astype(object) for a in args], axis=1)
        out = frame.min(axis=1) if kind == "min" else frame.max(axis=1)
        if kinds == {"text"}:
            return _text(list(out))
        return _num(list(pd.to_numeric(out, errors="coerce")))

    return Function((1, 99), run)


def _concat(ev: _Evaluator, args: list[Vec]) -> Vec:
    out = _text("", ev.n).data
    for a in args:
        out = out + ev._as_text(a).data.fillna("")
    return ev._bounded(Vec("text", out))


def _iif(ev: _Evaluator, args: list[Vec]) -> Vec:
    cond = ev._truth(args[0]).data.fillna(False).to_numpy(dtype=bool)
    a, b = args[1], args[2]
    if a.kind != b.kind and "null" not in (a.kind, b.kind):
        raise ev.fail("iif() needs both results of one kind")
    kind: Kind = a.kind if a.kind != "null" else b.kind
    data = a.data.astype(object).where(cond, b.data.astype(object))
    return _cast(kind, list(data))


def _coalesce(ev: _Evaluator, args: list[Vec]) -> Vec:
    kinds = {a.kind for a in args} - {"null"}
    if len(kinds) > 1:
        raise ev.fail("coalesce() needs values of one kind")
    out = args[0].data.astype(object)
    for a in args[1:]:
        out = out.where(out.notna(), a.data.astype(object))
    return _cast(next(iter(kinds), "null"), list(out))


def _cast(kind: Kind, values: list[Any]) -> Vec:
    values = [None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v for v in values]
    if kind == "text":
        return _text(values)
    if kind == "bool":
        return _bool(values)
    if kind == "date":
        return _date(values)
    return _num(values)


def _number(ev: _Evaluator, args: list[Vec]) -> Vec:
    v = args[0]
    if v.kind == "text":
        return _num(list(pd.to_numeric(v.data.astype(object), errors="coerce")))
    if v.kind == "date":
        return _num([None if pd.isna(x) else x.timestamp() * 1000 for x in v.data])
    return Vec("number", v.data.astype("Float64"))


def _isnull(ev: _Evaluator, args: list[Vec]) -> Vec:
    data = args[0].data
    empty = data.isna() | ((data == "") if args[0].kind == "text" else False)
    return _bool(empty.to_numpy(dtype=bool))


def _substr(one_based: bool) -> Callable[..., pd.Series]:
    def cut(s: pd.Series, start: pd.Series, count: pd.Series | None = None) -> pd.Series:
        out: list[str | None] = []
        counts = count if count is not None else pd.Series([None] * len(s), dtype="Float64")
        for text, a, c in zip(s, start, counts, strict=True):
            if pd.isna(text) or pd.isna(a):
                out.append(None)
                continue
            begin = max(int(a) - (1 if one_based else 0), 0)
            out.append(text[begin:] if pd.isna(c) else text[begin : begin + max(int(c), 0)])
        return pd.Series(pd.array(out, dtype="string"))

    return cut


def _replace(ev: _Evaluator, args: list[Vec]) -> Vec:
    for a in args:
        ev._need(a, "text", "replace")
    s, old, new = (a.data.astype("string") for a in args)
    if old.dropna().nunique() > 1 or new.dropna().nunique() > 1:
        raise ev.fail("replace() needs the same search and replacement text for all features")
    o = old.dropna().iloc[0] if old.notna().any() else None
    r = new.dropna().iloc[0] if new.notna().any() else None
    if o is None or r is None or o == "":
        return Vec("text", s)
    grow = s.str.count(_escape(o)).fillna(0) * (len(r) - len(o)) + s.str.len().fillna(0)
    if len(grow) and float(grow.max()) > MAX_TEXT:
        raise ev.fail(f"replace() would make a text longer than {MAX_TEXT} characters")
    return ev._bounded(Vec("text", s.str.replace(o, r, regex=False)))


def _escape(text: str) -> str:
    import re

    return re.escape(text)


def _text_fn(ev: _Evaluator, args: list[Vec]) -> Vec:
    return ev._as_text(args[0])


FUNCTIONS: dict[str, Function] = {
    "abs": _numeric(lambda x: x.abs()),
    "round": _numeric(_round, (1, 2)),
    "floor": _numeric(lambda x: np.floor(x)),
    "ceil": _numeric(lambda x: np.ceil(x)),
    "sqrt": _numeric(lambda x: np.sqrt(x.mask(x < 0))),
    "exp": _numeric(lambda x: np.exp(x.clip(upper=700))),
    "log": _numeric(lambda x: np.log(x.mask(x <= 0))),
    "log10": _numeric(lambda x: np.log10(x.mask(x <= 0))),
    "sin": _numeric(lambda x: np.sin(x)),
    "cos": _numeric(lambda x: np.cos(x)),
    "tan": _numeric(lambda x: np.tan(x)),
    "atan2": _numeric(lambda y, x: np.arctan2(y, x), (2, 2)),
    "min": _minmax("min"),
    "max": _minmax("max"),
    "upper": _stringy(lambda s: s.str.upper()),
    "lower": _stringy(lambda s: s.str.lower()),
    "trim": _stringy(lambda s: s.str.strip()),
    "strip": _stringy(lambda s: s.str.strip()),
    "len": _stringy(lambda s: s.str.len()),
    "length": _stringy(lambda s: s.str.len()),
    "char_length": _stringy(lambda s: s.str.len()),
    "left": _stringy(lambda s, k: _substr(False)(s, pd.Series([0] * len(s)), k), (2, 2)),
    "right": _stringy(
        lambda s, k: pd.Series(
            pd.array(
                [
                    None if pd.isna(t) or pd.isna(c) else (t[-int(c) :] if int(c) > 0 else "")
                    for t, c in zip(s, k, strict=True)
                ],
                dtype="string",
            )
        ),
        (2, 2),
    ),  # fmt: skip
    "mid": _stringy(_substr(False), (2, 3)),
    "substring": _stringy(_substr(True), (2, 3)),
    "replace": Function((3, 3), _replace),
    "concat": Function((1, 99), _concat),
    "concatenate": Function((1, 99), _concat),
    "iif": Function((3, 3), _iif),
    "coalesce": Function((2, 99), _coalesce),
    "defaultvalue": Function((2, 2), _coalesce),
    "isnull": Function((1, 1), _isnull),
    "isempty": Function((1, 1), _isnull),
    "number": Function((1, 1), _number),
    "float": Function((1, 1), _number),
    "text": Function((1, 1), _text_fn),
    "str": Function((1, 1), _text_fn),
}


# ---------------------------------------------------------------- public entry points


def evaluate(expr: Expression, fs: FeatureSet) -> Vec:
    """Evaluate over every feature of ``fs`` (after a check on one all-null row)."""
    check(expr, fs)
    return _run(expr, fs, len(fs))


def check(expr: Expression, fs: FeatureSet) -> None:
    """Evaluate on one all-null row: unknown fields/functions and constant overflows fail here."""
    _run(expr, _schema_only(fs), 1)


def _schema_only(fs: FeatureSet) -> FeatureSet:
    return FeatureSet(fs.geometry_type, fs.spatial_reference, fs.fields)


def _run(expr: Expression, fs: FeatureSet, n: int) -> Vec:
    try:
        return _Evaluator(expr, fs, n).eval(expr.tree)
    except ExpressionError:
        raise
    except RecursionError:
        raise _error(expr.param, "the expression is nested too deeply") from None
    except (ValueError, TypeError, OverflowError, ArithmeticError) as exc:
        raise _error(expr.param, f"cannot evaluate the expression: {str(exc)[:200]}") from None


def where(text: str | None, fs: FeatureSet, *, param: str) -> np.ndarray:
    """Indices of the features a SQL where clause selects (all for an empty clause)."""
    if text is None or not text.strip():
        return np.arange(len(fs))
    result = evaluate(parse(text, dialect="sql", param=param), fs)
    if result.kind not in ("bool", "null"):
        raise _error(param, f"a where clause must be true or false, not a {result.kind} value")
    return np.flatnonzero(result.data.fillna(False).to_numpy(dtype=bool))


def to_python(vec: Vec) -> list[Any]:
    """Plain Python values (None for null; dates as epoch milliseconds)."""
    if vec.kind == "date":
        return [None if pd.isna(x) else int(x.timestamp() * 1000) for x in vec.data]
    if vec.kind == "bool":
        return [None if pd.isna(x) else bool(x) for x in vec.data]
    if vec.kind == "number":
        return [None if pd.isna(x) else float(x) for x in vec.data]
    return [None if pd.isna(x) else str(x) for x in vec.data]


def names_in(values: Sequence[str]) -> str:
    """``'a', 'b'`` for messages."""
    return ", ".join(f"'{v}'" for v in values)

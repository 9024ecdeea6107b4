"""Source text to expression nodes, through Python's own parser and a whitelist.

Reusing ``ast.parse`` gives policy owners familiar syntax and precise positions for free.
Safety does not come from the parser but from the conversion below: every Python node kind
not listed is refused with a message naming the construct, so no unexpected construct can
reach the code generator. Size limits are checked before any recursion, so hostile input
costs a bounded amount of work and cannot exhaust the stack.
"""

from __future__ import annotations

import ast
import io
import math
import re
import tokenize
import warnings

from kamrules.errors import ExpressionError
from kamrules.expressions.functions import FUNCTIONS, known_functions
from kamrules.expressions.nodes import (
    Arith,
    Call,
    Choose,
    Compare,
    CompareOp,
    Constant,
    Field,
    ListOf,
    Logic,
    Node,
    Unary,
)
from kamrules.suggestions import did_you_mean

MAX_LENGTH = 2000
MAX_DEPTH = 40
MAX_NODES = 200
MAX_INT_DIGITS = 15

LITERAL_NAMES = {"true": True, "false": False, "null": None}
LIST_EXAMPLE = "stage in ['review', 'exploitation']"
UNDERSCORE = "names starting with an underscore are not allowed"

_ARITH: dict[type[ast.operator], str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_REFUSED_OPERATORS: dict[type[ast.operator], str] = {
    ast.Pow: "powers (**) are not supported",
    ast.Mod: "the remainder operator % is not supported",
    ast.FloorDiv: "`//` is not supported; use /",
    ast.MatMult: "`@` is not supported",
    ast.BitAnd: "`&` is not supported; use and",
    ast.BitOr: "`|` is not supported; use or",
    ast.BitXor: "`^` is not supported",
    ast.LShift: "`<<` is not supported",
    ast.RShift: "`>>` is not supported",
}
_COMPARE: dict[type[ast.cmpop], CompareOp] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}
_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.ListComp: "list comprehensions are not supported; use count(), any(), all() over a list",
    ast.SetComp: "set comprehensions are not supported; use distinct() over a list",
    ast.DictComp: "dict comprehensions are not supported",
    ast.GeneratorExp: ("generator expressions are not supported; use count(), any(), all() over a list"),
    ast.Lambda: "lambda functions are not supported",
    ast.Subscript: "indexing with [...] is not supported",
    ast.Slice: "slicing is not supported",
    ast.Starred: "unpacking with * is not supported",
    ast.JoinedStr: "f-strings are not supported",
    ast.FormattedValue: "f-strings are not supported",
    ast.NamedExpr: "assignment with := is not supported",
    ast.Dict: "dictionaries ({...}) are not supported",
    ast.Set: f"sets ({{...}}) are not supported; after in, write a list such as {LIST_EXAMPLE}",
    ast.Tuple: f"tuples are not supported; after in, write a list such as {LIST_EXAMPLE}",
    ast.Await: "await is not supported",
    ast.Yield: "yield is not supported",
    ast.YieldFrom: "yield is not supported",
}


class _Offsets:
    """Turns ``ast`` positions (line, UTF-8 byte column) into character offsets.

    The parsed text has its line breaks replaced by spaces (see :func:`parse`), so it is a
    single line and only the byte-to-character step remains.
    """

    def __init__(self, text: str, lead: int) -> None:
        self.lead = lead
        self.ascii = text.isascii()
        self.encoded = text.encode("utf-8")

    def __call__(self, node: ast.AST) -> int:
        col: int = getattr(node, "col_offset", 0)
        if not self.ascii:
            col = len(self.encoded[:col].decode("utf-8", errors="ignore"))
        return self.lead + col


def _bracket_depth(text: str, lead: int) -> None:
    """Refuse comments and bracket nesting beyond the limit, before Python parses.

    ``ast`` drops parentheses, so ``((((x))))`` is only visible to the tokenizer. Comments
    are refused because line breaks are joined before parsing: a ``#`` would silently
    swallow the rest of a multi-line expression.
    """
    depth = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                raise ExpressionError("comments (#) are not allowed inside an expression", lead + token.start[1])
            if token.type == tokenize.OP and token.string in "([{":
                depth += 1
                if depth > MAX_DEPTH:
                    raise ExpressionError(
                        f"this expression is nested too deeply (more than {MAX_DEPTH} levels)",
                        lead + token.start[1],
                    )
            elif token.type == tokenize.OP and token.string in ")]}":
                depth -= 1
    except (tokenize.TokenError, SyntaxError):
        return  # ast.parse reports the problem with a better message


def _measure(tree: ast.AST, offsets: _Offsets) -> None:
    """Depth and size limits, walked iteratively so deep input cannot overflow the stack.

    Underscore names are looked for here too, so that ``__import__('os').system('x')`` is
    refused for its underscore (the first in the text) rather than for some other reason.
    """
    count = 0
    underscore: int | None = None
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr):
            count += 1
            depth += 1
            if depth > MAX_DEPTH:
                raise ExpressionError(
                    f"this expression is nested too deeply (more than {MAX_DEPTH} levels)",
                    offsets(node),
                )
            if count > MAX_NODES:
                raise ExpressionError(
                    f"this expression is too large (more than {MAX_NODES} parts); split it into several rules",
                    offsets(node),
                )
        name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
        if isinstance(name, str) and name.startswith("_"):
            at = offsets(node)
            underscore = at if underscore is None else min(underscore, at)
        stack.extend((child, depth) for child in ast.iter_child_nodes(node))
    if underscore is not None:
        raise ExpressionError(UNDERSCORE, underscore)


def _position(source: str, offset: int) -> str:
    """``column N`` (or ``line L, column N`` in a multi-line expression), 1-based."""
    before = source[:offset].replace("\r\n", "\n").replace("\r", "\n")
    line = before.count("\n")
    column = len(before) - (before.rfind("\n") + 1) + 1
    return f"line {line + 1}, column {column}" if line else f"column {column}"


def _syntax_error(exc: SyntaxError, source: str, text: str, lead: int) -> ExpressionError:
    # Line breaks were joined before parsing, so Python's line numbers mean nothing here.
    reason = re.sub(r" \(detected at line \d+\)", "", exc.msg or "invalid syntax").rstrip(".")
    if not exc.offset:
        # Python reports an expression that stops in the middle at offset 0.
        offset = lead + len(text.rstrip())
        if reason == "invalid syntax":
            reason = "it ends unexpectedly"
    else:
        offset = min(lead + exc.offset - 1, len(source))
    return ExpressionError(f"could not read this expression: {reason} at {_position(source, offset)}", offset)


def parse(source: str) -> Node:
    """Parse ``source`` into unchecked nodes, or raise :class:`ExpressionError`."""
    if len(source) > MAX_LENGTH:
        raise ExpressionError(
            f"this expression is too long ({len(source)} characters; at most {MAX_LENGTH})",
            MAX_LENGTH,
        )
    try:
        source.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ExpressionError("this expression contains characters that cannot be read", exc.start) from None
    if "\x00" in source:
        raise ExpressionError("this expression contains a null character", source.index("\x00"))
    # Line breaks become spaces, keeping every character at its offset, so that an
    # expression folded over several lines in YAML needs no brackets.
    flat = source.replace("\r", " ").replace("\n", " ")
    text = flat.lstrip()
    lead = len(flat) - len(text)
    if not text.strip():
        raise ExpressionError("the expression is empty", 0)
    _bracket_depth(text, lead)
    try:
        with warnings.catch_warnings():
            # Python warns about things like `1if x`; policy owners get errors, not warnings.
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(exc, source, text, lead) from None
    except (ValueError, MemoryError, RecursionError):
        raise ExpressionError(f"this expression is nested too deeply (more than {MAX_DEPTH} levels)", lead) from None
    offsets = _Offsets(text, lead)
    _measure(tree, offsets)
    return _Converter(offsets).convert(tree.body)


class _Converter:
    def __init__(self, offsets: _Offsets) -> None:
        self.at = offsets

    def fail(self, message: str, node: ast.AST, hint: str | None = None) -> ExpressionError:
        return ExpressionError(message, self.at(node), hint)

    def convert(self, node: ast.expr) -> Node:
        at = self.at(node)
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if isinstance(node, ast.BoolOp):
            operands = tuple(self.convert(v) for v in node.values)
            if isinstance(node.op, ast.And):
                return Logic(offset=at, op="and", operands=operands)
            return Logic(offset=at, op="or", operands=operands)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BinOp):
            symbol = _ARITH.get(type(node.op))
            if symbol is None:
                refused = _REFUSED_OPERATORS.get(type(node.op), "this operator is not supported")
                raise self.fail(refused, node)
            left, right = self.convert(node.left), self.convert(node.right)
            return Arith(offset=at, op=symbol, left=left, right=right)  # type: ignore[arg-type]
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.IfExp):
            return Choose(
                offset=at,
                body=self.convert(node.body),
                test=self.convert(node.test),
                orelse=self.convert(node.orelse),
            )
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.List):
            raise self.fail(f"a list can only be used after in or not in, as in {LIST_EXAMPLE}", node)
        message = _REFUSED_NODES.get(type(node), f"{type(node).__name__} is not supported")
        raise self.fail(message, node)

    def constant(self, node: ast.Constant) -> Constant:
        value = node.value
        at = self.at(node)
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return Constant(offset=at, value=value)
        if isinstance(value, int):
            if len(str(abs(value))) > MAX_INT_DIGITS:
                raise self.fail(
                    f"this number has more than {MAX_INT_DIGITS} digits, which is not supported",
                    node,
                )
            return Constant(offset=at, value=value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.fail("this number is too large", node)
            return Constant(offset=at, value=value)
        if isinstance(value, bytes):
            raise self.fail("bytes literals are not supported; write text as 'text'", node)
        if isinstance(value, complex):
            raise self.fail("imaginary numbers are not supported", node)
        raise self.fail("`...` is not supported", node)

    def name(self, node: ast.Name) -> Node:
        at = self.at(node)
        if node.id.startswith("_"):
            raise self.fail(UNDERSCORE, node)
        if node.id in LITERAL_NAMES:
            return Constant(offset=at, value=LITERAL_NAMES[node.id])
        return Field(offset=at, parts=(node.id,))

    def attribute(self, node: ast.Attribute) -> Node:
        """A dotted path such as ``plan.last_reviewed`` or ``sign_off.version``; what the
        names mean is for the type checker, which knows the schema."""
        parts: list[str] = []
        base: ast.expr = node
        while isinstance(base, ast.Attribute):
            if base.attr.startswith("_"):
                raise self.fail(UNDERSCORE, base)
            parts.append(base.attr)
            base = base.value
        if not isinstance(base, ast.Name):
            raise self.fail(
                "only account., plan., score. and item names such as contact. can be followed by a dot and a fact name",
                node,
            )
        if base.id.startswith("_"):
            raise self.fail(UNDERSCORE, base)
        if base.id in LITERAL_NAMES:
            raise self.fail(f"{base.id} cannot be followed by a dot and a fact name", node)
        parts.append(base.id)
        return Field(offset=self.at(node), parts=tuple(reversed(parts)))

    def unary(self, node: ast.UnaryOp) -> Node:
        at = self.at(node)
        if isinstance(node.op, ast.Not):
            return Unary(offset=at, op="not", operand=self.convert(node.operand))
        if isinstance(node.op, ast.Invert):
            raise self.fail("`~` is not supported; use not", node)
        operand = self.convert(node.operand)
        negative = isinstance(node.op, ast.USub)
        if (
            isinstance(operand, Constant)
            and isinstance(operand.value, int | float)
            and not isinstance(operand.value, bool)
        ):
            # A signed literal is one value (needed for lists such as [-1, 0, 1]).
            return Constant(offset=at, value=-operand.value if negative else operand.value)
        return Unary(offset=at, op="-" if negative else "+", operand=operand)

    def compare(self, node: ast.Compare) -> Node:
        ops: list[CompareOp] = []
        for op in node.ops:
            symbol = _COMPARE.get(type(op))
            if symbol is None:
                raise self.fail(
                    "`is` is not supported; use == or !=, or missing(x) to test for a missing value",
                    node,
                )
            ops.append(symbol)
        has_in = any(op in ("in", "not in") for op in ops)
        if has_in and len(ops) > 1:
            raise self.fail("in cannot be chained with other comparisons; combine them with and", node)
        if has_in:
            right = node.comparators[0]
            if not isinstance(right, ast.List):
                if type(right) in (ast.Tuple, ast.Set):
                    raise self.fail(_REFUSED_NODES[type(right)], right)
                raise self.fail(
                    f"{ops[0]} needs a list of values in square brackets on its right, such as {LIST_EXAMPLE}",
                    right,
                )
            operands: list[Node] = [self.convert(node.left), self.list_of(right)]
        else:
            operands = [self.convert(node.left)] + [self.convert(c) for c in node.comparators]
        return Compare(offset=self.at(node), ops=tuple(ops), operands=tuple(operands))

    def list_of(self, node: ast.List) -> ListOf:
        items: list[Node] = []
        for element in node.elts:
            item = self.convert(element) if not isinstance(element, ast.List) else None
            fixed = isinstance(item, Constant) or (
                isinstance(item, Call)
                and item.name == "date"
                and len(item.args) == 1
                and isinstance(item.args[0], Constant)
            )
            if item is None or not fixed:
                raise self.fail(
                    "a list after in can only hold fixed values such as 'review', 3 or date('2026-01-31')",
                    element,
                )
            assert item is not None
            items.append(item)
        if not items:
            raise self.fail("the list after in is empty", node)
        return ListOf(offset=self.at(node), items=tuple(items))

    def call(self, node: ast.Call) -> Call:
        func = node.func
        if isinstance(func, ast.Name) and func.id.startswith("_"):
            raise self.fail(UNDERSCORE, func)
        if isinstance(func, ast.Attribute):
            if func.attr.startswith("_"):
                raise self.fail(UNDERSCORE, func)
            raise self.fail(
                f"methods cannot be called; only these functions can be called: {known_functions()}",
                node,
            )
        if not isinstance(func, ast.Name):
            raise self.fail(f"only these functions can be called: {known_functions()}", node)
        if func.id not in FUNCTIONS:
            raise self.fail(
                f"'{func.id}' is not a function; only these functions can be called: {known_functions()}",
                node,
                did_you_mean(func.id, FUNCTIONS),
            )
        if node.keywords:
            raise self.fail("keyword arguments (name=value) are not supported", node.keywords[0])
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.fail(_REFUSED_NODES[ast.Starred], arg)
        args = tuple(self.convert(a) for a in node.args)
        return Call(offset=self.at(node), name=func.id, args=args)

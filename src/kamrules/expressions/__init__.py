"""A small, safe expression language for rules, compiled once into fast Python callables.

Expressions read facts by path (``account.annual_revenue``, ``plan.last_reviewed``,
``score.attractiveness``), compare and combine them with three-valued logic for missing
facts, and aggregate over ``contacts``. Only the functions in :data:`FUNCTIONS` can be
called. See :func:`compile_expression`.
"""

from kamrules.expressions.compiler import CompiledExpression, compile_expression
from kamrules.expressions.functions import FUNCTIONS, FunctionInfo

__all__ = ["FUNCTIONS", "CompiledExpression", "FunctionInfo", "compile_expression"]

"""A small, safe expression language for rules, compiled once into fast Python callables.

Expressions read facts by path (``account.annual_revenue``, ``plan.last_reviewed``,
``score.attractiveness``), compare and combine them with three-valued logic for missing
facts, and aggregate over any list of the schema (``contacts``, ``team``,
``plan.sign_offs``, ...), nested up to three deep, reading the current item by bare name or
by its item name (``all(team, any(plan.sign_offs, sign_off.member == member.name))``).
Only the functions in :data:`FUNCTIONS` can be called. See :func:`compile_expression`, and
:class:`~kamrules.expressions.typecheck.TypeChecker` for how names resolve.
"""

from kamrules.expressions.compiler import CompiledExpression, ItemFinder, compile_expression, compile_item_facts
from kamrules.expressions.functions import FUNCTIONS, FunctionInfo

__all__ = ["FUNCTIONS", "CompiledExpression", "FunctionInfo", "ItemFinder", "compile_expression", "compile_item_facts"]

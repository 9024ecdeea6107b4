"""The rulebook as a document a key account director prints: ``kamrules docs``.

The rules are read from the compiled :class:`~kamrules.rulebook.Rulebook` (never from the
YAML text), so the document says what the engine does: each criterion's scoring in words
and tables (a scale's sample points come from the engine's own scorer), gates, tiers with
their thresholds and capacities, segments, the plan checks by area and by stage, and the
rulebook's own facts.

Markdown and HTML are two renderings of one intermediate structure (a :class:`Document`
of blocks: headings, paragraphs, tables, field lists, code), so the two always say the
same. HTML is a single self-contained page (inline print-friendly CSS, no scripts, no
external assets) escaped with :func:`html.escape`. Output depends only on the rulebook and
the kamrules version: no date, no file paths, identical bytes on every run.

The module also generates the reference tables of ``docs/rules.md`` (every function an
expression can call, every built-in fact) so that the language documentation cannot drift
from the code: ``python -m kamrules.explanation.rulebook_docs docs/rules.md`` rewrites the
generated sections in place, and a test fails while they are stale.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal

from kamrules._version import __version__
from kamrules.evaluation.compliance import SEVERITY_WEIGHT
from kamrules.evaluation.exact import round_ratio
from kamrules.evaluation.scoring import centi, scale_scorer
from kamrules.explanation import markdown
from kamrules.expressions.functions import FUNCTIONS
from kamrules.facts.schema import DEFAULT_SCHEMA, STAGES, FactSchema
from kamrules.facts.types import FactField, ListType, RecordType
from kamrules.rulebook.model import Criterion, Gate, PlanCheck, Scorecard, Tier
from kamrules.rulebook.semantics import Rulebook

__all__ = [
    "Document",
    "facts_reference",
    "functions_reference",
    "render",
    "rulebook_document",
    "to_html",
    "to_markdown",
    "update_reference",
]

Format = Literal["markdown", "html"]
FORMATS: tuple[Format, ...] = ("markdown", "html")

# -- the intermediate structure ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Code:
    """Inline code: an id, a fact path, an expression."""

    text: str


@dataclass(frozen=True, slots=True)
class Strong:
    text: str


@dataclass(frozen=True, slots=True)
class Link:
    """A link to a heading of the same document."""

    text: str
    anchor: str


Inline = str | Code | Strong | Link
Span = tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    text: str
    anchor: str


@dataclass(frozen=True, slots=True)
class Paragraph:
    span: Span
    note: bool = False
    """A side remark, set smaller in HTML."""


@dataclass(frozen=True, slots=True)
class CodeBlock:
    text: str


@dataclass(frozen=True, slots=True)
class Items:
    """A bulleted list."""

    items: tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class Fields:
    """Labelled values: ``Weight: 15 (15% of the scorecard)``."""

    rows: tuple[tuple[str, Span | CodeBlock], ...]


@dataclass(frozen=True, slots=True)
class Group:
    """A row of a table that names the group of rows below it (a plan-check area)."""

    title: str


Align = Literal["left", "right", "center"]


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Span, ...] | Group, ...]
    align: tuple[Align, ...] = ()
    wide: bool = False
    """Many narrow columns (the stage matrix): set smaller in HTML."""

    def alignment(self, column: int) -> Align:
        return self.align[column] if column < len(self.align) else "left"


@dataclass(frozen=True, slots=True)
class Section:
    """Blocks kept together on a printed page where possible (one criterion, one check)."""

    blocks: tuple[Block, ...]


Block = Heading | Paragraph | CodeBlock | Items | Fields | Table | Section


@dataclass(frozen=True, slots=True)
class Document:
    title: str
    subtitle: str
    blocks: tuple[Block, ...]


# -- building blocks ----------------------------------------------------------------------------


class _Anchors:
    """Heading anchors as GitHub makes them, so that Markdown links work there too."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, text: str) -> str:
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        count = self.seen.get(slug)
        self.seen[slug] = 0 if count is None else count + 1
        return slug if count is None else f"{slug}-{count + 1}"


def spans(text: str) -> Span:
    """Text with its `backtick` parts as inline code."""
    parts: list[Inline] = []
    for i, piece in enumerate(re.split(r"`([^`]+)`", text)):
        if i % 2:
            parts.append(Code(piece))
        elif piece:
            parts.append(piece)
    return tuple(parts)


def paragraphs(text: str | None) -> list[Block]:
    """A description as paragraphs: blank lines separate them, other line breaks do not."""
    if not text:
        return []
    chunks = [" ".join(chunk.split()) for chunk in re.split(r"\n\s*\n", text.strip())]
    return [Paragraph(spans(chunk)) for chunk in chunks if chunk]


def one_line(source: str) -> str:
    """An expression as one line, as kamrules reads it (line breaks are spaces)."""
    return " ".join(source.split())


def expression(source: str, limit: int = 72) -> Span | CodeBlock:
    """An expression as inline code, or as a block of its own when it is long."""
    text = one_line(source)
    return (Code(text),) if len(text) <= limit else CodeBlock(text)


def number(value: float | int | Decimal) -> str:
    """A number as a person writes it: 20,000,000, 0.5, 71.67 (no trailing zeros)."""
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    text = format(exact.normalize(), ",f")
    return "0" if text in ("-0", "0") else text


def bounds(minimum: float | None, maximum: float | None) -> str:
    """A fact's allowed range in words: "1 to 5", "at least 0", "at most 100" or ""."""
    if minimum is not None and maximum is not None:
        return f"{number(minimum)} to {number(maximum)}"
    if minimum is not None:
        return f"at least {number(minimum)}"
    if maximum is not None:
        return f"at most {number(maximum)}"
    return ""


def points(value: Decimal) -> str:
    return number(value)


def share(part: Decimal, whole: Decimal) -> str:
    """``part`` as a percentage of ``whole``, two decimals at most (half to even)."""
    if whole == 0:
        return "0%"
    return f"{number(round_ratio(centi(part) * 100, centi(whole)))}%"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def listing(words: Sequence[str], last: str = "and") -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


STAGE_NAMES: dict[str, str] = {
    "pre_sales": "pre-sales",
    "contract_negotiation": "contract negotiation",
    "implementation_delivery": "implementation and delivery",
    "review": "review",
    "exploitation": "exploitation",
}
"""The relationship stages as people say them, in their order."""

SEVERITY_WORDS: dict[str, str] = {
    "blocker": "a failure makes the plan non-compliant",
    "major": "a failure puts the plan at risk",
    "minor": "a finding to fix; the plan stays compliant",
}

MISSING_WORDS: dict[str, str] = {
    "zero": "scores 0 points, and its weight still counts",
    "drop": "is left out of the score, and the other criteria share its weight",
    "error": "the account is not decided: it is reported as an error to fix in the CRM",
}

GATE_MISSING_WORDS: dict[str, str] = {
    "skip": "the gate does not apply, and the decision flags the missing fact",
    "apply": "the gate applies anyway",
    "error": "the account is not decided: it is reported as an error to fix in the CRM",
}


def _stage_set(check: PlanCheck) -> tuple[str, ...]:
    """The stages a check applies in, in stage order (every stage when it names none)."""
    if check.stages is not None:
        return tuple(s for s in STAGES if s in check.stages)
    first = STAGES.index(check.from_stage) if check.from_stage else 0
    last = STAGES.index(check.to_stage) if check.to_stage else len(STAGES) - 1
    return STAGES[first : last + 1]


def _stage_words(check: PlanCheck) -> str:
    if check.stages is not None:
        names = [STAGE_NAMES[s] for s in _stage_set(check)]
        return f"at the {listing(names)} stage{'s' if len(names) > 1 else ''}"
    if check.from_stage and check.to_stage:
        return f"from {STAGE_NAMES[check.from_stage]} to {STAGE_NAMES[check.to_stage]}"
    if check.from_stage:
        return f"from {STAGE_NAMES[check.from_stage]} on"
    if check.to_stage:
        return f"up to and including {STAGE_NAMES[check.to_stage]}"
    return "at every stage"


# -- the rulebook as a document --------------------------------------------------------------


@dataclass
class _Builder:
    rulebook: Rulebook
    anchors: _Anchors = field(default_factory=_Anchors)
    blocks: list[Block] = field(default_factory=list)
    contents: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        spec = self.rulebook.spec
        last = len(spec.tiers) - 1
        self.key = [t.key_account if t.key_account is not None else i != last for i, t in enumerate(spec.tiers)]
        non_key = [i for i, key in enumerate(self.key) if not key]
        fallback = spec.tiers[non_key[0] if non_key else last].name
        self.excluded_tier = spec.excluded.name if spec.excluded is not None else fallback
        self.cards = {card.id: card for card in self.rulebook.scorecards}
        # Scorecard headings are linked from the overview, which comes first.
        self.card_anchor = {
            card.id: self.anchors(f"Scorecard: {card.title or card.id}") for card in self.rulebook.scorecards
        }

    # -- helpers ------------------------------------------------------------------------------

    def heading(self, level: int, text: str, *, contents: bool = False) -> Heading:
        block = Heading(level, text, self.anchors(text))
        if contents:
            self.contents.append((text, block.anchor))
        return block

    def card_title(self, card_id: str) -> str:
        card = self.cards.get(card_id)
        return (card.title or card.id) if card is not None else card_id

    def fact(self, path: str) -> FactField | None:
        """The schema field of ``account.x``, ``x`` or ``plan.x``."""
        parts = path.split(".")
        schema = self.rulebook.schema
        if parts[0] == "account":
            parts = parts[1:]
        record: RecordType = schema.account
        if len(parts) == 2 and parts[0] == "plan":
            record, parts = schema.plan, parts[1:]
        return record.fields.get(parts[0]) if len(parts) == 1 else None

    def fact_span(self, path: str) -> Span:
        fact = self.fact(path)
        if fact is None:
            return (Code(path),)
        limits = bounds(fact.minimum, fact.maximum)
        kind = fact.type.describe() + (f", {limits}" if limits else "")
        return (Code(path), f" ({kind}): ", *spans(fact.description))

    # -- the document ---------------------------------------------------------------------------

    def build(self) -> Document:
        rulebook = self.rulebook
        spec = rulebook.spec
        sections: list[list[Block]] = [
            self.overview(),
            self.scorecards(),
            self.gates(),
            self.tiers(),
        ]
        if spec.segments:
            sections.append(self.segments())
        if spec.plan_checks:
            sections.append(self.relationship_map())
            sections.append(self.plan_checks())
        if spec.alerts:
            sections.append(self.alerts())
        sections.append(self.facts())
        head: list[Block] = [
            Fields(
                (
                    ("Rulebook", (Code(rulebook.id),)),
                    ("Version", (rulebook.version,)),
                    ("Content hash", (Code(rulebook.content_hash),)),
                )
            ),
            *paragraphs(spec.description),
            Paragraph((Strong("Contents"),)),
            Items(tuple((Link(text, anchor),) for text, anchor in self.contents)),
        ]
        body = [block for section in sections for block in section]
        footer = Paragraph(
            (
                f"Rendered by kamrules {__version__} from rulebook ",
                Code(rulebook.id),
                f" version {rulebook.version}. Every decision made with these rules names the same "
                "rulebook id, version and content hash. The hash is computed from the rules' content, "
                "so it changes with any change of a rule, title or description, but not with comments, "
                "layout or how the rules are split into files.",
            ),
            note=True,
        )
        title = spec.title or spec.rulebook
        subtitle = f"Rulebook {rulebook.id}, version {rulebook.version}"
        return Document(title, subtitle, (*head, *body, footer))

    def overview(self) -> list[Block]:
        spec = self.rulebook.spec
        cards = self.rulebook.scorecards
        primary = self.rulebook.primary_scorecard
        tiers = spec.tiers
        key_names = [t.name for t, key in zip(tiers, self.key, strict=True) if key]
        steps: list[Span] = []
        if len(cards) == 1:
            steps.append(
                (
                    "Every account is scored from its facts on "
                    f"{plural(len(cards[0].criteria), 'criterion', 'criteria')} (",
                    Link(self.card_title(cards[0].id), self.card_anchor[cards[0].id]),
                    "). Its score is the weighted mean of the criteria's points, from 0 to 100.",
                )
            )
        else:
            links: list[Inline] = []
            for i, card in enumerate(cards):
                if i:
                    links.append(", " if i < len(cards) - 1 else " and ")
                links.append(Link(self.card_title(card.id), self.card_anchor[card.id]))
            steps.append(
                (
                    f"Every account is scored from its facts on {len(cards)} scorecards: ",
                    *links,
                    ". Each score is the weighted mean of its criteria's points, from 0 to 100; tiers are graded on ",
                    Strong(self.card_title(primary)),
                    ".",
                )
            )
        if spec.gates:
            steps.append(
                (
                    f"{plural(len(spec.gates), 'gate')} then override the score where "
                    f"{'it applies' if len(spec.gates) == 1 else 'they apply'}: an excluded account gets no "
                    f"key-account tier (it falls to {self.excluded_tier}), a capped one at most the tier named.",
                )
            )
        steps.append(
            (
                f"The account holds the first of the {len(tiers)} tiers ({listing([t.name for t in tiers])}) whose "
                f"every test it passes; {tiers[-1].name} is the default. Key-account tiers: "
                f"{listing(key_names) if key_names else 'none'}.",
            )
        )
        if any(t.capacity is not None or t.capacity_per_manager is not None for t in tiers):
            steps.append(("Tiers with a capacity take the best-ranked accounts; the others fall to the next tier.",))
        if spec.segments:
            steps.append(
                (
                    f"Each account is also placed in one of {len(spec.segments)} segments: "
                    f"{listing([s.name for s in spec.segments])}.",
                )
            )
        if spec.plan_checks:
            steps.append(
                (
                    f"The account plan of every key account is checked against {len(spec.plan_checks)} plan checks "
                    "that depend on the relationship's stage and the account's tier.",
                )
            )
        default = spec.defaults.missing
        blocks: list[Block] = [
            self.heading(2, "How an account is decided", contents=True),
            Items(tuple(steps)),
            Paragraph(
                (
                    "Scores are computed exactly (weights and points in hundredths) and compared with thresholds "
                    "exactly: an account at 74.99 does not pass a minimum of 75. Scores are shown rounded down to "
                    "two decimals, so a score shown below a threshold is below it. When a criterion's fact is "
                    f"missing and the criterion says nothing else, it {MISSING_WORDS[default]} (",
                    Code(f"defaults.missing: {default}"),
                    ").",
                ),
            ),
        ]
        return blocks

    # -- scorecards ------------------------------------------------------------------------------

    def scorecards(self) -> list[Block]:
        cards = self.rulebook.scorecards
        blocks: list[Block] = []
        heading = self.heading(2, "Scorecards" if len(cards) > 1 else "Scorecard", contents=True)
        blocks.append(heading)
        for card in cards:
            blocks += self.scorecard(card)
        return blocks

    def scorecard(self, card: Scorecard) -> list[Block]:
        primary = card.id == self.rulebook.primary_scorecard and len(self.rulebook.scorecards) > 1
        title = f"Scorecard: {card.title or card.id}"
        total = sum((c.weight for c in card.criteria), Decimal(0))
        anchor = self.card_anchor[card.id]
        blocks: list[Block] = [Heading(3, title, anchor)]
        note: list[Inline] = ["Id ", Code(card.id), f"; {plural(len(card.criteria), 'criterion', 'criteria')}"]
        note.append(f", total weight {number(total)}.")
        if primary:
            note.append(" Tiers' minimum scores (min_score) are measured on this scorecard.")
        blocks.append(Paragraph(tuple(note), note=True))
        blocks += paragraphs(card.description)
        anchors = {c.id: self.anchors(c.title or c.id) for c in card.criteria}
        rows: list[tuple[Span, ...]] = []
        for c in card.criteria:
            rows.append(
                (
                    (Link(c.title or c.id, anchors[c.id]),),
                    (number(c.weight),),
                    (share(c.weight, total),),
                    (Code(c.fact),) if c.fact else ("(expression)",),
                    (self.method_short(c),),
                    (c.missing or self.rulebook.spec.defaults.missing,),
                )
            )
        blocks.append(
            Table(
                ("Criterion", "Weight", "Share", "Reads", "Scored by", "If missing"),
                tuple(rows),
                ("left", "right", "right"),
            )
        )
        blocks.append(
            Paragraph(
                (
                    "Score = sum of (weight × points) ÷ sum of weights. A criterion left out because its fact is "
                    "missing (",
                    Code("missing: drop"),
                    ") takes its weight out of both sums, so the shares of the others grow.",
                ),
                note=True,
            )
        )
        for c in card.criteria:
            blocks.append(self.criterion(c, total, anchors[c.id]))
        return blocks

    def method_short(self, c: Criterion) -> str:
        if c.bands is not None:
            return f"{plural(len(c.bands), 'band')}"
        if c.scale is not None:
            return f"scale {number(c.scale.from_value)} → {number(c.scale.to_value)}"
        if c.map is not None:
            return f"map of {plural(len(c.map), 'value')}"
        if c.boolean is not None:
            return "yes / no"
        return "expression"

    def criterion(self, c: Criterion, total: Decimal, anchor: str) -> Section:
        blocks: list[Block] = [Heading(4, c.title or c.id, anchor)]
        blocks += paragraphs(c.description)
        policy = c.missing or self.rulebook.spec.defaults.missing
        rows: list[tuple[str, Span | CodeBlock]] = [
            ("Id", (Code(c.id),)),
            ("Weight", (f"{number(c.weight)} of {number(total)} ({share(c.weight, total)} of the scorecard)",)),
        ]
        if c.fact is not None:
            rows.append(("Reads", self.fact_span(c.fact)))
        what = "the fact" if c.fact is not None else "a fact the expression reads"
        default = "" if c.missing else " (the rulebook's default)"
        rows.append(("If missing", (f"When {what} is missing, the criterion {MISSING_WORDS[policy]}{default}.",)))
        blocks.append(Fields(tuple(rows)))
        blocks += self.scoring(c)
        return Section(tuple(blocks))

    def scoring(self, c: Criterion) -> list[Block]:
        if c.bands is not None:
            rows: list[tuple[Span, ...]] = [
                ((f"at least {number(b.at_least)}",), (points(b.points),), (b.label or "",)) for b in c.bands
            ]
            rows.append(((f"below {number(c.bands[-1].at_least)}",), (points(c.below_bands),), ("below every band",)))
            return [
                Paragraph(("Scored by bands: the first band the value reaches gives the points.",)),
                Table(("Fact value", "Points", "Band"), tuple(rows), ("left", "right")),
            ]
        if c.scale is not None:
            s = c.scale
            low, high = Decimal(repr(float(s.from_value))), Decimal(repr(float(s.to_value)))
            ascending = low < high
            beyond_from, beyond_to = ("or less", "or more") if ascending else ("or more", "or less")
            words = (
                f"Scored on a scale from {number(s.from_value)} ({points(s.points_from)} points) to "
                f"{number(s.to_value)} ({points(s.points_to)} points), in proportion in between and rounded "
                f"to 0.01 point; {number(s.from_value)} {beyond_from} earns {points(s.points_from)}, "
                f"{number(s.to_value)} {beyond_to} earns {points(s.points_to)}."
            )
            score = scale_scorer(s)
            samples: list[tuple[Span, ...]] = []
            for quarter in range(5):
                value = low + (high - low) * quarter / 4
                centipoints = score(float(value))[0]
                samples.append(((number(value),), (points(Decimal(centipoints) / 100),)))
            return [Paragraph((words,)), Table(("Fact value", "Points"), tuple(samples), ("left", "right"))]
        if c.map is not None:
            table = tuple(((Code(k),), (points(v),)) for k, v in c.map.items())
            return [Paragraph(("Scored by a map: each value earns its points.",)), Table(("Value", "Points"), table)]
        if c.boolean is not None:
            rows = [(("yes",), (points(c.boolean["true"]),)), (("no",), (points(c.boolean["false"]),))]
            return [Paragraph(("Scored yes or no:",)), Table(("Fact value", "Points"), tuple(rows), ("left", "right"))]
        assert c.expression is not None
        return [
            Paragraph(
                ("Scored by an expression; its result is held between 0 and 100 points (rounded to 0.01 point):",)
            ),
            CodeBlock(one_line(c.expression)),
        ]

    # -- gates -------------------------------------------------------------------------------------

    def gates(self) -> list[Block]:
        spec = self.rulebook.spec
        blocks: list[Block] = [self.heading(2, "Gates", contents=True)]
        if not spec.gates:
            blocks.append(Paragraph(("This rulebook has no gates: the scores alone decide the tiers.",)))
            return blocks
        blocks.append(
            Paragraph(
                (
                    "Criteria compensate each other: a weak point is made up by strong ones. A gate does not: when "
                    "its condition holds, it applies whatever the account scores.",
                )
            )
        )
        rows: list[tuple[Span, ...]] = []
        anchors = {g.id: self.anchors(g.title or g.id) for g in spec.gates}
        for g in spec.gates:
            rows.append(((Link(g.title or g.id, anchors[g.id]),), (Code(one_line(g.when)),), (self.effect(g),)))
        blocks.append(Table(("Gate", "When", "Effect"), tuple(rows)))
        for g in spec.gates:
            blocks.append(self.gate(g, anchors[g.id]))
        return blocks

    def effect(self, g: Gate) -> str:
        if g.effect == "exclude":
            return f"excluded from key-account tiers (falls to {self.excluded_tier})"
        return f"at most {g.at_most}"

    def gate(self, g: Gate, anchor: str) -> Section:
        blocks: list[Block] = [Heading(3, g.title or g.id, anchor), *paragraphs(g.description)]
        default = " (the default)" if g.missing == "skip" else ""
        blocks.append(
            Fields(
                (
                    ("Id", (Code(g.id),)),
                    ("When", expression(g.when)),
                    ("Effect", (_sentence(self.effect(g)),)),
                    ("Reason shown", spans(one_line(g.reason))),
                    ("If missing", (f"When a fact it reads is missing, {GATE_MISSING_WORDS[g.missing]}{default}.",)),
                )
            )
        )
        return Section(tuple(blocks))

    # -- tiers ---------------------------------------------------------------------------------------

    def thresholds(self, t: Tier) -> list[str]:
        tests = []
        if t.min_score is not None:
            tests.append(f"{self.card_title(self.rulebook.primary_scorecard)} at least {number(t.min_score)}")
        for card, minimum in (t.min_scores or {}).items():
            tests.append(f"{self.card_title(card)} at least {number(minimum)}")
        return tests

    def capacity(self, t: Tier) -> str:
        parts = []
        if isinstance(t.capacity, int):
            parts.append(f"at most {plural(t.capacity, 'account')}")
        elif isinstance(t.capacity, str):
            parts.append(f"at most {t.capacity} of the decided accounts (rounded down)")
        if t.capacity_per_manager is not None:
            parts.append(f"at most {t.capacity_per_manager} per account manager")
        return "; ".join(parts)

    def tiers(self) -> list[Block]:
        spec = self.rulebook.spec
        tiers = spec.tiers
        last = len(tiers) - 1
        blocks: list[Block] = [self.heading(2, "Tiers", contents=True)]
        blocks.append(
            Paragraph(
                (
                    "Tiers are listed best first. An account holds the first tier whose every test it passes and "
                    "that no gate rules out; the last tier is the default every other account falls to.",
                )
            )
        )
        anchors = {t.name: self.anchors(t.name) for t in tiers}
        rows: list[tuple[Span, ...]] = []
        for i, t in enumerate(tiers):
            tests = self.thresholds(t)
            requires: Span = ()
            for k, r in enumerate(t.requires or []):
                requires += (("; " if k else ""), Code(one_line(r.when)))
            rows.append(
                (
                    (Link(t.name, anchors[t.name]),),
                    ("yes" if self.key[i] else "no",),
                    ("; ".join(tests) if tests else ("the default" if i == last else "none"),),
                    requires,
                    (self.capacity(t),),
                )
            )
        header = ("Tier", "Key account", "Minimum scores", "Also requires", "Capacity")
        # Columns no tier uses are left out: an empty column says nothing on paper.
        keep = [c for c in range(len(header)) if c < 3 or any(row[c] not in ((), ("",)) for row in rows)]
        blocks.append(Table(tuple(header[c] for c in keep), tuple(tuple(row[c] for c in keep) for row in rows)))
        for i, t in enumerate(tiers):
            blocks.append(self.tier(i, t, anchors[t.name]))
        blocks += self.placement()
        return blocks

    def tier(self, index: int, t: Tier, anchor: str) -> Section:
        spec = self.rulebook.spec
        last = index == len(spec.tiers) - 1
        blocks: list[Block] = [Heading(3, t.name, anchor), *paragraphs(t.description)]
        rows: list[tuple[str, Span | CodeBlock]] = [
            ("Key account", ("yes" if self.key[index] else "no",)),
        ]
        if last:
            rows.append(("Holds", ("every account that reaches no tier above it (the default)",)))
        for test in self.thresholds(t):
            rows.append(("Minimum score", (test,)))
        for r in t.requires or []:
            condition = expression(r.when)
            if r.reason and isinstance(condition, tuple):
                condition = (*condition, " — ", *spans(one_line(r.reason)))
            rows.append(("Requires", condition))
            if r.reason and isinstance(condition, CodeBlock):
                rows.append(("Why", spans(one_line(r.reason))))
        capacity = self.capacity(t)
        if capacity:
            rows.append(("Capacity", (capacity,)))
        capped = [g for g in spec.gates if g.effect == "cap" and g.at_most == t.name]
        for g in capped:
            rows.append(("Cap", ("the best tier an account capped by gate ", Code(g.id), " may hold")))
        if t.name == self.excluded_tier and any(g.effect == "exclude" for g in spec.gates):
            rows.append(("Also holds", ("accounts excluded by a gate",)))
        blocks.append(Fields(tuple(rows)))
        return Section(tuple(blocks))

    def placement(self) -> list[Block]:
        """Capacity ranking, stability and overrides: what can move an account from the tier
        its tests give."""
        spec = self.rulebook.spec
        blocks: list[Block] = []
        if any(t.capacity is not None or t.capacity_per_manager is not None for t in spec.tiers):
            order: list[Inline] = [f"the exact {self.card_title(self.rulebook.primary_scorecard)} score, best first"]
            for b in spec.tie_breakers:
                order += ["; then ", Code(one_line(b.by)), f" ({b.order}, missing values last)"]
            order.append("; then the account id")
            blocks += [
                self.heading(3, "Capacity"),
                Paragraph(
                    (
                        "Capacity is resolved over the whole portfolio decided together. The accounts that qualify "
                        "for a tier with a capacity are ranked by ",
                        *order,
                        ". The best-ranked take its places; the others fall to the next tier they qualify for, "
                        "where they compete again, and each decision says where the account ranked. An account "
                        "pinned by an override keeps its tier and takes one of its places.",
                    )
                ),
            ]
        elif spec.tie_breakers:
            blocks += [
                self.heading(3, "Tie-breakers"),
                Paragraph(("Tie-breakers are declared, but no tier has a capacity, so they are not used.",)),
            ]
        blocks.append(self.heading(3, "Stability"))
        if spec.stability is not None:
            margin = number(spec.stability.margin)
            blocks.append(
                Paragraph(
                    (
                        "An account that holds a tier today (",
                        Code("current_tier"),
                        f") keeps it unless its scores pass the thresholds of another tier by more than "
                        f"{margin} points: it moves up only when it beats the higher tier's minimum scores by "
                        f"{margin}, and moves down only when it falls more than {margin} below its own tier's. "
                        "Gates and requirements apply as always. So tiers do not flip on small score changes.",
                    )
                )
            )
        else:
            blocks.append(
                Paragraph(
                    ("No stability margin is set: every account holds the tier its scores give on the decision date.",)
                )
            )
        blocks.append(self.heading(3, "Overrides"))
        blocks.append(
            Paragraph(
                (
                    "A policy owner can pin an account to a tier in the account's own record: ",
                    Code("override_tier"),
                    " with ",
                    Code("override_reason"),
                    ", ",
                    Code("override_approver"),
                    " and ",
                    Code("override_expires"),
                    " (all three are required). The override holds until its expiry date, after which the rules "
                    "decide again; the decision shows the tier the rules alone give beside the one pinned.",
                )
            )
        )
        return blocks

    # -- segments, relationship map --------------------------------------------------------------------

    def segments(self) -> list[Block]:
        spec = self.rulebook.spec
        rows = tuple(
            (
                (Strong(s.name),),
                (Code(one_line(s.when)),) if s.when else ("every other account",),
                spans(" ".join((s.description or "").split())),
            )
            for s in spec.segments
        )
        return [
            self.heading(2, "Segments", contents=True),
            Paragraph(
                (
                    "The tier says how much service an account gets; the segment says what kind of strategy it "
                    "needs. Segments are tried in order, and the first whose condition holds is the account's.",
                )
            ),
            Table(("Segment", "When", "Meaning"), rows),
        ]

    def alerts(self) -> list[Block]:
        """What the account monitor (``kamrules watch``) tells, how loud and to whom."""
        rows = []
        for rule in self.rulebook.spec.alerts:
            options = []
            if isinstance(rule.lead_days, dict):
                options.append("warns " + ", ".join(f"{t} {d} days" for t, d in rule.lead_days.items()) + " ahead")
            elif rule.lead_days is not None:
                options.append(f"warns {rule.lead_days} days ahead")
            if rule.after_days is not None:
                options.append(f"after {rule.after_days} days overdue")
            if rule.checks is not None:
                options.append("checks " + ", ".join(rule.checks))
            if rule.regressions:
                options.append("allowed steps back: " + ", ".join(f"{a} to {b}" for a, b in rule.regressions))
            rows.append(
                (
                    (Code(rule.kind),),
                    (rule.severity,),
                    (", ".join(rule.notify),),
                    ("; ".join(options),),
                )
            )
        return [
            self.heading(2, "Alerts", contents=True),
            Paragraph(
                (
                    "The account monitor re-decides an account after each CRM event and tells these changes, "
                    "each with the decision before and after and the facts that moved it. Kinds not listed are off.",
                )
            ),
            Table(("Alert", "Severity", "Who is told", "Options"), tuple(rows)),
        ]

    def relationship_map(self) -> list[Block]:
        definitions = self.rulebook.spec.relationship_map
        return [
            self.heading(2, "Relationship map", contents=True),
            Paragraph(
                (
                    "Two words every rule over contacts uses, defined once. Each is a condition over one contact's "
                    "facts; in plan checks they read as facts of the contact (",
                    Code("count(contacts, key_player and supportive)"),
                    ").",
                )
            ),
            Fields(
                (
                    ("Key player", expression(definitions.key_player)),
                    ("Supportive", expression(definitions.supportive)),
                )
            ),
        ]

    # -- plan checks ---------------------------------------------------------------------------------

    def tiers_of(self, check: PlanCheck) -> list[str]:
        if check.tiers:
            return list(check.tiers)
        return [t.name for t, key in zip(self.rulebook.spec.tiers, self.key, strict=True) if key]

    def plan_checks(self) -> list[Block]:
        spec = self.rulebook.spec
        checks = spec.plan_checks
        areas: dict[str, list[PlanCheck]] = {}
        for check in checks:
            areas.setdefault(check.area or "Other checks", []).append(check)
        key_names = [t.name for t, key in zip(spec.tiers, self.key, strict=True) if key]
        weights = ", ".join(f"{name} {weight}" for name, weight in SEVERITY_WEIGHT.items())
        blocks: list[Block] = [
            self.heading(2, "Account plan checks", contents=True),
            Paragraph(
                (
                    f"{plural(len(checks), 'check')} test that a key account's plan is complete and current. A check "
                    "applies by the relationship's stage and the account's tier: without ",
                    Code("tiers"),
                    f", every key-account tier ({listing(key_names) if key_names else 'none'}). A check limited to "
                    "some stages is not checked when the account's stage is missing, and the decision says so.",
                )
            ),
            Items(
                (
                    (Strong("blocker"), f": {SEVERITY_WORDS['blocker']};"),
                    (Strong("major"), f": {SEVERITY_WORDS['major']};"),
                    (Strong("minor"), f": {SEVERITY_WORDS['minor']}."),
                )
            ),
            Paragraph(
                (
                    "A plan is compliant when every check that applies holds (minor findings aside), at risk when a "
                    "major check fails, non-compliant when a blocker fails; a check whose evidence is missing counts "
                    f"as failed. Its compliance score is the share of the applicable checks' weight that passes "
                    f'({weights}). Freshness ("within 90 days") is counted from the decision date.',
                )
            ),
        ]
        anchors: dict[str, str] = {}
        detail: list[Block] = []
        for area, members in areas.items():
            detail.append(self.heading(3, area))
            for check in members:
                anchors[check.id] = self.anchors(one_line(check.title))
                detail.append(self.check(check, anchors[check.id]))
        blocks += self.matrix(areas, anchors)
        blocks += self.by_stage(checks, anchors)
        blocks += detail
        return blocks

    def matrix(self, areas: dict[str, list[PlanCheck]], anchors: dict[str, str]) -> list[Block]:
        rows: list[tuple[Span, ...] | Group] = []
        for area, members in areas.items():
            rows.append(Group(area))
            for check in members:
                stages = _stage_set(check)
                rows.append(
                    (
                        (Link(one_line(check.title), anchors[check.id]),),
                        (check.severity,),
                        *[(("✓",) if s in stages else ()) for s in STAGES],
                        (", ".join(self.tiers_of(check)) if check.tiers else "key tiers",),
                    )
                )
        header = ("Check", "Severity", *[STAGE_NAMES[s].capitalize() for s in STAGES], "Tiers")
        centre: Align = "center"
        centred = tuple(centre for _ in STAGES)
        align: tuple[Align, ...] = ("left", "left", *centred, "left")
        return [
            self.heading(3, "Where each check applies"),
            Paragraph(("✓: the check applies at that stage (for the tiers in the last column).",), note=True),
            Table(header, tuple(rows), align, wide=True),
        ]

    def by_stage(self, checks: Sequence[PlanCheck], anchors: dict[str, str]) -> list[Block]:
        spec = self.rulebook.spec
        tier_names = [t.name for t in spec.tiers]
        applying = [n for n in tier_names if any(n in self.tiers_of(c) for c in checks)]
        rows: list[tuple[Span, ...]] = []
        for name in applying:
            cells: list[Span] = [(Strong(name),)]
            for stage in STAGES:
                found = [c for c in checks if stage in _stage_set(c) and name in self.tiers_of(c)]
                counts = [sum(1 for c in found if c.severity == s) for s in ("blocker", "major", "minor")]
                cells.append((f"{len(found)} ({counts[0]} / {counts[1]} / {counts[2]})",))
            rows.append(tuple(cells))
        items: list[Span] = []
        previous: set[str] = set()
        for index, stage in enumerate(STAGES):
            here = [c for c in checks if stage in _stage_set(c)]
            ids = {c.id for c in here}
            new = [c for c in here if c.id not in previous]
            gone = [c for c in checks if c.id in previous and c.id not in ids]
            span: list[Inline] = [Strong(STAGE_NAMES[stage].capitalize()), ": "]
            if index == 0:
                span.append(f"{plural(len(here), 'check')} apply")
                span += self._ids(new, anchors, ": ")
            else:
                span.append(f"{plural(len(here), 'check')} apply")
                span += self._ids(new, anchors, "; new at this stage: ") if new else ["; none new"]
                span += self._ids(gone, anchors, "; no longer: ") if gone else []
            span.append(".")
            items.append(tuple(span))
            previous = ids
        return [
            self.heading(3, "Checks by tier and stage"),
            Paragraph(("How many checks apply to each tier at each stage (blockers / majors / minors):",), note=True),
            Table(("Tier", *[STAGE_NAMES[s].capitalize() for s in STAGES]), tuple(rows)),
            Paragraph(("What a complete plan adds as the relationship moves through the stages:",)),
            Items(tuple(items)),
        ]

    @staticmethod
    def _ids(checks: Sequence[PlanCheck], anchors: dict[str, str], lead: str) -> list[Inline]:
        out: list[Inline] = [lead] if checks else []
        for i, check in enumerate(checks):
            if i:
                out.append(", ")
            out.append(Link(check.id, anchors[check.id]))
        return out

    def check(self, check: PlanCheck, anchor: str) -> Section:
        blocks: list[Block] = [Heading(4, one_line(check.title), anchor), *paragraphs(check.description)]
        tiers = self.tiers_of(check)
        tier_words = (
            f"to {listing(tiers)} accounts"
            if check.tiers
            else f"to every key-account tier ({listing(tiers) if tiers else 'none'})"
        )
        rows: list[tuple[str, Span | CodeBlock]] = [
            ("Id", (Code(check.id),)),
            ("Severity", (Strong(check.severity), f": {SEVERITY_WORDS[check.severity]}")),
            ("Applies", (f"{_stage_words(check)}, {tier_words}",)),
        ]
        if check.fresh is not None:
            date = expression(check.fresh.date)
            if isinstance(date, tuple):
                days = plural(check.fresh.within_days, "day")
                rows.append(("Must hold", (*date, f" is at most {days} before the decision date")))
            else:
                rows.append(("Must hold", (f"this date is at most {plural(check.fresh.within_days, 'day')} old:",)))
                rows.append(("Date", date))
            rows.append(("Falls due", (f"{plural(check.fresh.within_days, 'day')} after that date",)))
        else:
            assert check.require is not None
            rows.append(("Must hold", expression(check.require)))
            if check.due is not None:
                rows.append(("Falls due", expression(check.due)))
        if check.owner is not None:
            if "." in check.owner:
                fact = self.fact(check.owner)
                described: Span = (Code(check.owner),)
                if fact is not None:
                    described += (": ", *spans(fact.description))
                rows.append(("Owner", described))
            else:
                rows.append(("Owner", (check.owner,)))
        rows.append(("Remediation", spans(one_line(check.remediation))))
        blocks.append(Fields(tuple(rows)))
        return Section(tuple(blocks))

    # -- facts ------------------------------------------------------------------------------------------

    def facts(self) -> list[Block]:
        spec = self.rulebook.spec
        blocks: list[Block] = [self.heading(2, "Facts", contents=True)]
        blocks.append(
            Paragraph(
                (
                    "The rules read the built-in account facts (",
                    Code("kamrules facts"),
                    " lists them all) and the facts this rulebook adds. A record may give a fact under its own name "
                    "or under its CRM column.",
                )
            )
        )
        if spec.facts.custom:
            rows: list[tuple[Span, ...]] = []
            for custom in spec.facts.custom:
                kind = custom.type + (f": {', '.join(custom.values)}" if custom.values else "")
                rows.append(
                    (
                        (Code(custom.name),),
                        (kind + (", required" if custom.required else ""),),
                        (bounds(custom.minimum, custom.maximum),),
                        (Code(custom.column),) if custom.column else (),
                        spans(one_line(custom.description)),
                    )
                )
            blocks += [
                self.heading(3, "Facts this rulebook adds"),
                Table(("Fact", "Type", "Range", "CRM column", "Meaning"), tuple(rows)),
            ]
        if spec.facts.columns:
            account = self.rulebook.schema.account.fields
            column_rows = tuple(
                ((Code(name),), (Code(column),), spans(account[name].description) if name in account else ())
                for name, column in spec.facts.columns.items()
            )
            blocks += [
                self.heading(3, "CRM columns"),
                Paragraph(("Where each built-in fact is found in the CRM export:",)),
                Table(("Fact", "CRM column", "Meaning"), column_rows),
            ]
        return blocks


def rulebook_document(rulebook: Rulebook) -> Document:
    """The rulebook as a :class:`Document`, the one structure both renderings read."""
    return _Builder(rulebook).build()


# -- Markdown ------------------------------------------------------------------------------------


_md_text = markdown.text
_md_code = markdown.code


def _md_span(span: Span, *, cell: bool = False) -> str:
    out = []
    for part in span:
        if isinstance(part, Code):
            text = _md_code(part.text)
            out.append(markdown.code_cell(part.text) if cell else text)
        elif isinstance(part, Strong):
            out.append(f"**{_md_text(part.text)}**")
        elif isinstance(part, Link):
            out.append(f"[{_md_text(part.text)}](#{part.anchor})")
        else:
            out.append(_md_text(part))
    text = "".join(out)
    if not cell and re.match(r"[-+=]|\d+[.)]", text):
        text = "\\" + text  # not a list item or a heading underline
    return text


def _md_fence(text: str) -> str:
    runs = [len(m) for m in re.findall(r"`{3,}", text)]
    return "`" * max(3, max(runs, default=0) + 1)


def _md_table(table: Table) -> list[str]:
    marks = {"left": ":---", "right": "---:", "center": ":---:"}
    lines = [
        "| " + " | ".join(_md_text(h) for h in table.header) + " |",
        "| " + " | ".join(marks[table.alignment(i)] for i in range(len(table.header))) + " |",
    ]
    for row in table.rows:
        if isinstance(row, Group):
            cells = [f"**{_md_text(row.title)}**"] + [""] * (len(table.header) - 1)
        else:
            cells = [_md_span(cell, cell=True) for cell in row]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _md_block(block: Block) -> list[str]:
    if isinstance(block, Heading):
        return ["#" * block.level + " " + _md_text(block.text)]
    if isinstance(block, Paragraph):
        text = _md_span(block.span)
        return [f"*{text}*" if block.note and not text.startswith("*") else text]
    if isinstance(block, CodeBlock):
        fence = _md_fence(block.text)
        return [fence, block.text, fence]
    if isinstance(block, Items):
        return ["- " + _md_span(item, cell=True) for item in block.items]
    if isinstance(block, Fields):
        lines = []
        for label, value in block.rows:
            if isinstance(value, CodeBlock):
                fence = _md_fence(value.text)
                lines += [f"- **{_md_text(label)}:**", "", f"  {fence}", f"  {value.text}", f"  {fence}", ""]
            else:
                lines.append(f"- **{_md_text(label)}:** {_md_span(value, cell=True)}")
        while lines and not lines[-1]:
            lines.pop()
        return lines
    if isinstance(block, Table):
        return _md_table(block)
    return _md_blocks(block.blocks)


def _md_blocks(blocks: Iterable[Block]) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        if lines:
            lines.append("")
        lines += _md_block(block)
    return lines


def to_markdown(document: Document) -> str:
    """The document as GitHub-flavoured Markdown."""
    lines = [f"# {_md_text(document.title)}", "", *_md_blocks(document.blocks)]
    return "\n".join(lines) + "\n"


# -- HTML ------------------------------------------------------------------------------------------

_CSS = """\
@page { size: A4; margin: 16mm 15mm 18mm; }
html { color-scheme: light; }
body { font-family: "Source Serif Pro", Georgia, "DejaVu Serif", serif; font-size: 10.5pt; line-height: 1.45;
  color: #1a1a1a; background: #fff; max-width: 58rem; margin: 2rem auto 4rem; padding: 0 1.5rem; }
h1, h2, h3, h4, thead th, tr.group th, dl.fields dt, .subtitle, nav {
  font-family: "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; }
h1 { font-size: 2rem; line-height: 1.15; margin: 0 0 .2rem; }
.subtitle { color: #555; margin: 0 0 1.2rem; font-size: 1.05rem; }
h2 { font-size: 1.45rem; margin: 2.4rem 0 .6rem; padding-bottom: .25rem; border-bottom: 2px solid #1f3a5f;
  color: #1f3a5f; }
h3 { font-size: 1.15rem; margin: 1.8rem 0 .4rem; color: #1f3a5f; }
h4 { font-size: 1rem; margin: 1.3rem 0 .3rem; }
h1, h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
p { margin: .35rem 0 .6rem; }
p.note { color: #555; font-size: .92em; }
a { color: #1f3a5f; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .86em; background: #f2f4f7;
  border-radius: 3px; padding: .05em .25em; overflow-wrap: anywhere; }
pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .84em; background: #f2f4f7;
  border-left: 3px solid #9fb3c8; padding: .45rem .7rem; margin: .3rem 0 .7rem; white-space: pre-wrap;
  overflow-wrap: anywhere; }
pre code { background: none; padding: 0; font-size: 1em; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; font-size: .92em; }
table.narrow { width: auto; min-width: 22rem; max-width: 100%; }
table.wide { font-size: .84em; }
th, td { border: 1px solid #c8cdd3; padding: .22rem .45rem; text-align: left; vertical-align: top; }
thead th { background: #e8edf3; font-weight: 600; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
tr.group th { background: #f5f7f9; font-weight: 600; font-style: italic; }
.right { text-align: right; font-variant-numeric: tabular-nums; }
.center { text-align: center; }
table.wide thead th.center { font-size: .9em; }
ul { margin: .3rem 0 .7rem; padding-left: 1.3rem; }
li { margin: .15rem 0; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .9rem; margin: .35rem 0 .8rem; }
dl.fields dt { font-weight: 600; color: #333; }
dl.fields dd { margin: 0; }
dl.fields dd pre { margin: 0; }
section.block { break-inside: avoid; page-break-inside: avoid; border-top: 1px solid #e3e7eb; margin-top: 1rem; }
nav { border: 1px solid #c8cdd3; background: #f8f9fb; padding: .5rem 1rem; margin: .8rem 0 1.5rem;
  display: inline-block; min-width: 18rem; }
nav ul { margin: .2rem 0 0; }
footer { margin-top: 2.5rem; border-top: 1px solid #c8cdd3; padding-top: .5rem; color: #555; font-size: .88em; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 9.5pt; }
  a { color: inherit; text-decoration: none; }
  h2 { break-before: page; page-break-before: always; }
  nav + h2, h2:first-of-type { break-before: auto; page-break-before: auto; }
  code, pre, thead th, tr.group th, nav { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _html_span(span: Span) -> str:
    out = []
    for part in span:
        if isinstance(part, Code):
            out.append(f"<code>{_h(part.text)}</code>")
        elif isinstance(part, Strong):
            out.append(f"<strong>{_h(part.text)}</strong>")
        elif isinstance(part, Link):
            out.append(f'<a href="#{_h(part.anchor)}">{_h(part.text)}</a>')
        else:
            out.append(_h(part))
    return "".join(out)


def _html_table(table: Table) -> list[str]:
    classes = {"left": "", "right": ' class="right"', "center": ' class="center"'}
    kind = "wide" if table.wide else "narrow" if len(table.header) <= 3 else ""
    lines = [f'<table class="{kind}">' if kind else "<table>", "<thead><tr>"]
    lines += [f"<th{classes[table.alignment(i)]}>{_h(h)}</th>" for i, h in enumerate(table.header)]
    lines += ["</tr></thead>", "<tbody>"]
    for row in table.rows:
        if isinstance(row, Group):
            lines.append(f'<tr class="group"><th colspan="{len(table.header)}">{_h(row.title)}</th></tr>')
            continue
        cells = "".join(f"<td{classes[table.alignment(i)]}>{_html_span(cell)}</td>" for i, cell in enumerate(row))
        lines.append(f"<tr>{cells}</tr>")
    lines += ["</tbody>", "</table>"]
    return lines


def _html_block(block: Block) -> list[str]:
    if isinstance(block, Heading):
        return [f'<h{block.level} id="{_h(block.anchor)}">{_h(block.text)}</h{block.level}>']
    if isinstance(block, Paragraph):
        opening = '<p class="note">' if block.note else "<p>"
        return [f"{opening}{_html_span(block.span)}</p>"]
    if isinstance(block, CodeBlock):
        return [f"<pre><code>{_h(block.text)}</code></pre>"]
    if isinstance(block, Items):
        return ["<ul>", *[f"<li>{_html_span(item)}</li>" for item in block.items], "</ul>"]
    if isinstance(block, Fields):
        lines = ['<dl class="fields">']
        for label, value in block.rows:
            shown = f"<pre><code>{_h(value.text)}</code></pre>" if isinstance(value, CodeBlock) else _html_span(value)
            lines.append(f"<dt>{_h(label)}</dt><dd>{shown}</dd>")
        lines.append("</dl>")
        return lines
    if isinstance(block, Table):
        return _html_table(block)
    return ['<section class="block">', *[line for b in block.blocks for line in _html_block(b)], "</section>"]


def to_html(document: Document) -> str:
    """The document as one self-contained HTML page, with print-friendly CSS and no external assets."""
    body: list[str] = []
    blocks = list(document.blocks)
    footer = blocks.pop() if blocks and isinstance(blocks[-1], Paragraph) and blocks[-1].note else None
    assert footer is None or isinstance(footer, Paragraph)
    for block in blocks:
        if isinstance(block, Items) and body and body[-1] == "<p><strong>Contents</strong></p>":
            body.pop()
            body += ["<nav>", "<strong>Contents</strong>", *_html_block(block), "</nav>"]
            continue
        body += _html_block(block)
    if footer is not None:
        body.append(f"<footer>{_html_span(footer.span)}</footer>")
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="kamrules {_h(__version__)}">',
        f"<title>{_h(document.title)}</title>",
        "<style>",
        _CSS.rstrip("\n"),
        "</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_h(document.title)}</h1>",
        f'<p class="subtitle">{_h(document.subtitle)}</p>',
        "</header>",
        "<main>",
        *body,
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(lines) + "\n"


def render(rulebook: Rulebook, fmt: Format = "markdown") -> str:
    """The rulebook documented in ``markdown`` or ``html``; the same bytes on every run."""
    document = rulebook_document(rulebook)
    if fmt == "html":
        return to_html(document)
    if fmt == "markdown":
        return to_markdown(document)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


# -- generated reference sections of docs/rules.md ---------------------------------------------------


def functions_reference() -> str:
    """Every function an expression can call, from :data:`~kamrules.expressions.FUNCTIONS`."""
    rows = tuple(((Code(info.name),), (Code(info.usage),), spans(info.doc)) for info in FUNCTIONS.values())
    return "\n".join(_md_table(Table(("Function", "Written", "Gives"), rows))) + "\n"


def _fact_rows(record: RecordType, prefix: str) -> tuple[tuple[Span, ...], ...]:
    rows = []
    for fact in record.fields.values():
        kind = fact.type.describe()
        if fact.required:
            kind += ", required"
        if fact.derived:
            kind += ", derived"
        if fact.past:
            kind += ", not after the as-of date"
        rows.append(
            (
                (Code(prefix + fact.name),),
                (kind,),
                (bounds(fact.minimum, fact.maximum),),
                spans(fact.description),
            )
        )
    return tuple(rows)


def facts_reference(schema: FactSchema = DEFAULT_SCHEMA) -> str:
    """Every built-in fact: the account's, the plan's and those of each list's items."""
    header = ("Fact", "Type", "Range", "Meaning")
    account = schema.account
    scalars = RecordType(
        "account", {n: f for n, f in account.fields.items() if not isinstance(f.type, ListType | RecordType)}
    )
    nested = RecordType(
        "account", {n: f for n, f in account.fields.items() if isinstance(f.type, ListType | RecordType)}
    )
    blocks: list[Block] = [
        Paragraph(
            (Strong("Account facts"), " (", Code("account.x"), ", or ", Code("x"), " alone)"),
        ),
        Table(header, _fact_rows(scalars, "account.")),
        Paragraph(
            (Strong("The plan and the lists"), " on the account"),
        ),
        Table(header, _fact_rows(nested, "")),
        Paragraph(
            (Strong("Plan facts"), " (", Code("plan.x"), "; all missing when the account has no plan)"),
        ),
        Table(header, _fact_rows(schema.plan, "plan.")),
    ]
    seen: set[str] = set()

    def lists(record: RecordType, prefix: str) -> None:
        for fact in record.fields.values():
            if isinstance(fact.type, ListType) and fact.type.item.name not in seen:
                item = fact.type.item
                seen.add(item.name)
                blocks.append(
                    Paragraph(
                        (
                            Strong(f"Items of {prefix}{fact.name}"),
                            " (inside an aggregate: bare, or as ",
                            Code(f"{item.name}.x"),
                            ")",
                        )
                    )
                )
                blocks.append(Table(header, _fact_rows(item, "")))
            elif isinstance(fact.type, RecordType):
                lists(fact.type, f"{fact.name}.")

    lists(account, "")
    return "\n".join(_md_blocks(blocks)) + "\n"


GENERATED = {"functions": functions_reference, "facts": facts_reference}
_MARKER = re.compile(
    r"(<!-- generated: (?P<name>\w+)[^>]*-->\n)(?P<body>.*?)(<!-- end of generated section -->)", re.DOTALL
)


def update_reference(text: str) -> str:
    """``text`` (docs/rules.md) with each generated section rewritten from the code."""

    def replace(match: re.Match[str]) -> str:
        make = GENERATED.get(match.group("name"))
        if make is None:
            return match.group(0)
        return f"{match.group(1)}\n{make()}\n{match.group(4)}"

    return _MARKER.sub(replace, text)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kamrules.explanation.rulebook_docs docs/rules.md``: refresh the generated sections."""
    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths:
        print("usage: python -m kamrules.explanation.rulebook_docs docs/rules.md", file=sys.stderr)
        return 2
    for name in paths:
        path = Path(name)
        old = path.read_text(encoding="utf-8")
        new = update_reference(old)
        if new != old:
            path.write_text(new, encoding="utf-8")
            print(f"updated {path}")
        else:
            print(f"{path} is up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

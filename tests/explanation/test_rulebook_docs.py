"""``kamrules docs``: the rulebook as a printable document, in Markdown and HTML from one structure."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

import kamrules
from kamrules.cli import exit_codes
from kamrules.cli.main import app
from kamrules.explanation.rulebook_docs import (
    FORMATS,
    Code,
    CodeBlock,
    Document,
    Fields,
    Group,
    Heading,
    Items,
    Link,
    Paragraph,
    Section,
    Strong,
    Table,
    main,
    render,
    rulebook_document,
    spans,
    to_html,
    to_markdown,
    update_reference,
)
from kamrules.rulebook import Rulebook
from tests.conftest import ROOT

RULES = ROOT / "rules"
runner = CliRunner()

PORTFOLIO_RULEBOOK = """\
rulebook: portfolio_rules
version: "7"
title: Capacity & <stability> rules
description: |
  A rulebook with a | pipe, *stars*, <b>tags</b> & an ampersand.

  A second paragraph with `code` in it.
facts:
  custom:
    - name: service_level
      type: category
      values: [basic, premium]
      column: Service_Level__c
      description: The service contract, <basic> or premium.
    - name: days_to_pay
      type: number
      minimum: 0
      description: Days the customer takes to pay.
criteria:
  - id: revenue
    title: Revenue | with us
    weight: 2.5
    fact: account.annual_revenue
    scale: {from: 0, to: 3, points_from: 10, points_to: 90}
  - id: service
    weight: 1
    fact: account.service_level
    map: {basic: 0, premium: 100}
    missing: drop
  - id: payment
    weight: 1
    fact: account.days_to_pay
    scale: {from: 60, to: 15}
    missing: error
  - id: fit
    weight: 0.5
    expression: 25 * coalesce(account.strategic_fit, 0)
tiers:
  - name: Gold
    min_score: 70
    capacity: 2
    capacity_per_manager: 1
    requires:
      - when: account.credit_risk in ['low', 'medium']
        reason: Gold needs a <low> or medium credit risk.
  - name: Silver
    min_score: 40
    capacity: 10%
  - name: Standard
tie_breakers:
  - by: account.annual_revenue
  - by: account.years_as_customer
    order: ascending
stability:
  margin: 2.5
"""


@pytest.fixture(scope="module")
def default() -> Rulebook:
    return kamrules.load_rulebook(RULES)


@pytest.fixture(scope="module")
def portfolio() -> Rulebook:
    return kamrules.load_rulebook_text(PORTFOLIO_RULEBOOK)


class _Structure(HTMLParser):
    """Checks that every element is closed in order, and collects ids, links and assets."""

    VOID = frozenset({"meta", "br", "hr", "img", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.ids: list[str] = []
        self.links: list[str] = []
        self.tags: set[str] = set()
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = dict(attrs)
        if values.get("id"):
            self.ids.append(values["id"] or "")
        for name in ("href", "src"):
            target = values.get(name)
            if target is not None:
                (self.links if target.startswith("#") else self.external).append(target)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-3:])
        self.stack.pop()


def _parse(page: str) -> _Structure:
    parser = _Structure()
    parser.feed(page)
    parser.close()
    assert parser.stack == []
    return parser


def _github_slug(text: str) -> str:
    plain = re.sub(r"\\(.)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", plain.lower()).replace(" ", "-")


# -- content -------------------------------------------------------------------------------------


def test_markdown_of_the_default_rulebook_names_every_rule(default: Rulebook) -> None:
    text = render(default, "markdown")
    spec = default.spec
    assert text.startswith("# Default key account selection and tiering\n")
    for expected in (default.id, default.version, default.content_hash, "Customer attractiveness"):
        assert expected in text
    for card in default.scorecards:
        for c in card.criteria:
            assert f"#### {c.title}" in text
            assert f"`{c.id}`" in text
    for gate in spec.gates:
        assert f"### {gate.title}" in text and f"`{gate.id}`" in text
    for tier in spec.tiers:
        assert f"### {tier.name}\n" in text
    for check in spec.plan_checks:
        assert f"`{check.id}`" in text
        assert f"#### {' '.join(check.title.split())}" in text
    for custom in spec.facts.custom:
        assert f"`{custom.name}`" in text
    for column in spec.facts.columns.values():
        assert f"`{column}`" in text


def test_scoring_methods_in_words_and_tables(default: Rulebook) -> None:
    text = render(default, "markdown")
    assert "| at least 20,000,000 | 100 | 20M and more |" in text
    assert "| below 500,000 | 0 | below every band |" in text
    assert "Scored on a scale from 10 (0 points) to 40 (100 points)" in text
    assert "| 17.5 | 25 |" in text  # the engine's own scorer, a quarter of the way
    assert "| `medium` | 60 |" in text
    assert "| yes | 100 |\n| no | 0 |" in text
    assert "```\nmin(100, 20 * count(contacts, role in" in text
    assert "- **Weight:** 25 of 100 (25% of the scorecard)" in text
    assert "the criterion is left out of the score, and the other criteria share its weight." in text


def test_gates_tiers_and_segments(default: Rulebook) -> None:
    text = render(default, "markdown")
    assert "| `account.credit_risk == 'high'` | at most Silver |" in text
    assert "excluded from key-account tiers (falls to Standard)" in text
    assert "- **Effect:** At most Silver." in text
    assert "Customer attractiveness at least 75; Our relative strength at least 40" in text
    assert "`account.strategic_fit >= 4` — Gold is reserved for customers" in text
    assert "| **Streamline** | every other account |" in text
    assert "No stability margin is set" in text


def test_plan_checks_by_area_and_stage(default: Rulebook) -> None:
    text = render(default, "markdown")
    assert "| **Plan basics** |  |  |  |  |  |  |  |" in text
    row = next(line for line in text.splitlines() if "(#the-plan-is-agreed-with-the-account-team-or-active)" in line)
    assert row.endswith("| blocker |  | ✓ | ✓ | ✓ | ✓ | key tiers |")
    row = next(line for line in text.splitlines() if line.startswith("| [The mentor reviewed the plan in the last 60"))
    assert row.endswith("| Gold |")
    assert "| **Gold** | 15 (2 / 11 / 2) |" in text
    assert "- **Applies:** from contract negotiation on, to every key-account tier (Gold, Silver and Bronze)" in text
    assert "- **Applies:** at the review and exploitation stages, to Gold accounts" in text
    assert "`max(plan.reviews, date, kind == 'mentor')` is at most 60 days before the decision date" in text
    assert "- **Owner:** `plan.mentor`: The mentor, outside day-to-day management" in text
    assert "- **Owner:** Customer service lead" in text
    areas = [line for line in text.splitlines() if line.startswith("### ")]
    assert areas.index("### Plan basics") < areas.index("### Relationship map")


def test_capacity_stability_tie_breakers_and_custom_facts(portfolio: Rulebook) -> None:
    text = render(portfolio, "markdown")
    assert "at most 2 accounts; at most 1 per account manager" in text
    assert "at most 10% of the decided accounts (rounded down)" in text
    assert "then `account.annual_revenue` (descending, missing values last)" in text
    assert "then `account.years_as_customer` (ascending, missing values last)" in text
    assert "by more than 2.5 points" in text
    assert "- **Weight:** 2.5 of 5 (50% of the scorecard)" in text
    assert "(the rulebook's default)" in text
    assert "the account is not decided: it is reported as an error to fix in the CRM." in text
    assert "from 60 (0 points) to 15 (100 points)" in text and "60 or more earns 0, 15 or less earns 100" in text
    assert "| 37.5 | 50 |" in text
    assert "| 0.75 | 30 |" in text  # from 0 (10 points) to 3 (90 points)
    assert "| `service_level` | category: basic, premium |  | `Service_Level__c` |" in text
    assert "| `days_to_pay` | number | at least 0 |" in text
    assert "Account plan checks" not in text and "Segments" not in text


def test_markdown_is_escaped(portfolio: Rulebook) -> None:
    text = render(portfolio, "markdown")
    assert text.startswith("# Capacity & \\<stability\\> rules\n")
    assert "A rulebook with a \\| pipe, \\*stars\\*, \\<b\\>tags\\</b\\> & an ampersand." in text
    assert "A second paragraph with `code` in it." in text
    assert "[Revenue \\| with us](#revenue--with-us)" in text
    assert "#### Revenue \\| with us" in text


def test_every_markdown_link_has_its_heading(default: Rulebook, portfolio: Rulebook) -> None:
    for rulebook in (default, portfolio):
        text = render(rulebook, "markdown")
        slugs: dict[str, int] = {}
        anchors = set()
        for line in text.splitlines():
            heading = re.match(r"^#{1,6} (.*)$", line)
            if heading:
                slug = _github_slug(heading.group(1))
                count = slugs.get(slug)
                slugs[slug] = 0 if count is None else count + 1
                anchors.add(slug if count is None else f"{slug}-{count + 1}")
        links = set(re.findall(r"\]\(#([^)]+)\)", text))
        assert links and links <= anchors, links - anchors


# -- HTML ------------------------------------------------------------------------------------------


def test_html_is_one_self_contained_well_formed_page(default: Rulebook) -> None:
    page = render(default, "html")
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert page.endswith("</html>\n")
    structure = _parse(page)
    assert structure.external == []
    assert not {"script", "link", "img", "iframe"} & structure.tags
    assert "@media print" in page and "@page" in page
    assert len(structure.ids) == len(set(structure.ids))
    assert set(structure.links) <= {f"#{i}" for i in structure.ids}
    for check in default.spec.plan_checks:
        assert f"<code>{check.id}</code>" in page


def test_html_escapes_what_the_rulebook_says(portfolio: Rulebook) -> None:
    page = render(portfolio, "html")
    _parse(page)
    assert "<title>Capacity &amp; &lt;stability&gt; rules</title>" in page
    assert "&lt;b&gt;tags&lt;/b&gt; &amp; an ampersand" in page
    assert "<b>" not in page and "<stability>" not in page
    assert "Gold needs a &lt;low&gt; or medium credit risk." in page
    assert "<code>account.credit_risk in [&#x27;low&#x27;, &#x27;medium&#x27;]</code>" in page
    assert "The service contract, &lt;basic&gt; or premium." in page


def test_markdown_and_html_render_the_same_structure(default: Rulebook) -> None:
    document = rulebook_document(default)
    markdown, page = to_markdown(document), to_html(document)

    def headings(blocks: tuple[object, ...]) -> list[str]:
        found: list[str] = []
        for block in blocks:
            if isinstance(block, Heading):
                found.append(block.text)
            elif isinstance(block, Section):
                found += headings(block.blocks)
        return found

    for text in headings(document.blocks):
        assert text in page.replace("&#x27;", "'").replace("&amp;", "&")
        assert text.replace("|", "\\|") in markdown


def test_renderings_of_each_block() -> None:
    document = Document(
        "T",
        "sub",
        (
            Heading(2, "A & B", "a--b"),
            Paragraph(("x ", Code("a|b"), " ", Strong("s"), " ", Link("go", "a--b"))),
            Paragraph(("- not a list",)),
            CodeBlock("x ``` y"),
            Items((("one",), ("two",))),
            Fields((("Label", ("value",)), ("Long", CodeBlock("a or b")))),
            Table(("k", "v"), (Group("g"), (("a|b",), (Code("c|d"),))), ("left", "right")),
            Paragraph(("footer",), note=True),
        ),
    )
    markdown = to_markdown(document)
    assert "## A & B" in markdown
    assert "x `a|b` **s** [go](#a--b)" in markdown
    assert "\\- not a list" in markdown
    assert "````\nx ``` y\n````" in markdown
    assert "- **Long:**\n\n  ```\n  a or b\n  ```" in markdown
    assert "| **g** |  |" in markdown and "| a\\|b | `c\\|d` |" in markdown and "| :--- | ---: |" in markdown
    page = to_html(document)
    assert '<h2 id="a--b">A &amp; B</h2>' in page
    assert '<tr class="group"><th colspan="2">g</th></tr>' in page
    assert '<td class="right"><code>c|d</code></td>' in page
    assert "<footer>footer</footer>" in page
    assert spans("a `b` c") == ("a ", Code("b"), " c")


# -- determinism -----------------------------------------------------------------------------------


def test_same_bytes_on_every_run(default: Rulebook) -> None:
    again = kamrules.load_rulebook(RULES)
    for fmt in FORMATS:
        assert render(default, fmt) == render(again, fmt) == render(default, fmt)


def test_same_bytes_in_a_fresh_interpreter_whatever_the_hash_seed(default: Rulebook) -> None:
    code = (
        "import hashlib, sys, kamrules\n"
        "from kamrules.explanation.rulebook_docs import render\n"
        f"rb = kamrules.load_rulebook({str(RULES)!r})\n"
        "sys.stdout.write(hashlib.sha256((render(rb, 'markdown') + render(rb, 'html')).encode()).hexdigest())\n"
    )
    expected = hashlib.sha256((render(default, "markdown") + render(default, "html")).encode()).hexdigest()
    for seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        )
        assert result.stdout == expected


def test_unknown_format_is_refused(default: Rulebook) -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render(default, "pdf")  # type: ignore[arg-type]


# -- the command -----------------------------------------------------------------------------------


def test_docs_command_markdown_to_stdout() -> None:
    result = runner.invoke(app, ["docs", str(RULES)])
    assert result.exit_code == exit_codes.OK
    assert result.stdout == render(kamrules.load_rulebook(RULES), "markdown")


def test_docs_command_html_from_the_file_name_or_the_option(tmp_path: Path) -> None:
    page = tmp_path / "rulebook.html"
    result = runner.invoke(app, ["docs", str(RULES), "-o", str(page)])
    assert result.exit_code == exit_codes.OK
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert f"written to {page}" in result.stderr
    other = tmp_path / "rulebook.txt"
    result = runner.invoke(app, ["docs", str(RULES), "--format", "html", "--output", str(other)])
    assert result.exit_code == exit_codes.OK
    assert other.read_bytes() == page.read_bytes()
    markdown = tmp_path / "rulebook.html.md"
    assert runner.invoke(app, ["docs", str(RULES), "-f", "markdown", "-o", str(markdown)]).exit_code == 0
    assert markdown.read_text(encoding="utf-8").startswith("# Default key account")


def test_docs_command_mistakes() -> None:
    result = runner.invoke(app, ["docs", str(RULES), "--format", "htm"])
    assert result.exit_code == exit_codes.USAGE
    assert "--format must be markdown or html, not 'htm'; did you mean 'html'?" in result.stderr
    result = runner.invoke(app, ["docs", str(ROOT / "no-such-rules")])
    assert result.exit_code == exit_codes.INVALID_RULES
    assert "no rule file or folder" in result.stderr


# -- the generated sections of docs/rules.md -------------------------------------------------------


def test_update_reference_rewrites_only_generated_sections(tmp_path: Path) -> None:
    stale = (
        "intro\n<!-- generated: functions (note) -->\nold table\n<!-- end of generated section -->\n"
        "<!-- generated: unknown -->\nkept\n<!-- end of generated section -->\noutro\n"
    )
    fresh = update_reference(stale)
    assert fresh.startswith("intro\n<!-- generated: functions (note) -->\n\n| Function | Written | Gives |")
    assert "old table" not in fresh and "kept" in fresh and fresh.endswith("outro\n")
    assert update_reference(fresh) == fresh
    path = tmp_path / "rules.md"
    path.write_text(stale, encoding="utf-8")
    assert main([str(path)]) == 0
    assert path.read_text(encoding="utf-8") == fresh
    assert main([str(path)]) == 0
    assert main([]) == 2

"""The decision register on SQLite and on a real PostgreSQL server: schema by migration,
append-only rows, rulebooks stored once, history and replay."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from kamrules import Engine, load_rulebook
from kamrules.cli import exit_codes
from kamrules.cli.main import app
from kamrules.register import (
    Entry,
    Register,
    RegisterError,
    digest,
    facts_json,
    head_revision,
    history,
    replay,
    upgrade,
)
from kamrules.register.schema import metadata
from tests.conftest import AS_OF, ROOT, SMALL_RULEBOOK, default_rules_with

ACCOUNT = {
    "id": "ACC-1",
    "name": "Acme",
    "annual_revenue": 2_500_000,
    "strategic_fit": 4,
    "relationship_strength": 4,
}


def write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rules.yaml").write_text(text, encoding="utf-8")
    return folder


def entry(engine: Engine, facts: dict[str, object]) -> Entry:
    decision = engine.decide(facts, AS_OF)
    return Entry.of_decision(decision, decision.model_dump_json(), facts)


def test_upgrade_creates_the_schema_the_tables_describe(register_url: str) -> None:
    before, after = upgrade(register_url)
    assert (before, after) == (None, head_revision())
    assert upgrade(register_url) == (head_revision(), head_revision())
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with Register(register_url) as register, register.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_a_database_without_the_schema_is_refused_with_the_command_to_run(postgres_server: object) -> None:
    url = postgres_server.new_database()  # type: ignore[attr-defined]
    with pytest.raises(RegisterError, match=r"has no register schema.*kamrules register upgrade"):
        Register(url)


def test_an_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(RegisterError, match="cannot open the register at 'postgresql\\+psycopg://kam:\\*\\*\\*@"):
        Register("postgresql://kam:secret@/nothing?host=/nonexistent-socket-dir")


def test_decisions_are_recorded_with_every_field(register_url: str, tmp_path: Path) -> None:
    upgrade(register_url)
    engine = Engine(load_rulebook(write(tmp_path / "rules", SMALL_RULEBOOK)))
    with Register(register_url) as register:
        first = entry(engine, ACCOUNT)
        ids = register.record(engine.rulebook, [first], source="service", caller="flow", request_id="req-1")
        stored = register.decision(ids[0])
    assert stored.explanation == first.explanation  # byte for byte what was served
    assert stored.account_id == "ACC-1" and stored.as_of == AS_OF
    assert (stored.rulebook_id, stored.rulebook_version, stored.rulebook_hash) == (
        "small",
        "1",
        engine.rulebook.content_hash,
    )
    assert stored.tier == first.tier and stored.segment == first.segment
    assert stored.scores == first.scores
    assert stored.facts == ACCOUNT
    assert stored.facts_digest == digest(facts_json(ACCOUNT))
    assert (stored.caller, stored.request_id, stored.source) == ("flow", "req-1", "service")
    assert stored.decided_at.tzinfo is not None


def test_a_rulebook_is_stored_once_by_its_hash(register_url: str, tmp_path: Path) -> None:
    upgrade(register_url)
    engine = Engine(load_rulebook(write(tmp_path / "rules", SMALL_RULEBOOK)))
    # The same meaning in other words: the same hash, so no second copy.
    engine_again = Engine(load_rulebook(write(tmp_path / "other", "# a comment\n" + SMALL_RULEBOOK)))
    with Register(register_url) as register:
        register.record(engine.rulebook, [entry(engine, ACCOUNT)], source="cli")
        register.record(engine_again.rulebook, [entry(engine_again, ACCOUNT)], source="cli")
        with register.engine.connect() as connection:
            count = connection.execute(sa.text("SELECT count(*) FROM rulebooks")).scalar_one()
        assert count == 1
        assert register.rulebook_files(engine.rulebook.content_hash) == {"rules.yaml": SMALL_RULEBOOK}


def test_rows_can_never_be_changed_or_deleted(register_url: str, tmp_path: Path) -> None:
    upgrade(register_url)
    engine = Engine(load_rulebook(write(tmp_path / "rules", SMALL_RULEBOOK)))
    with Register(register_url) as register:
        register.record(engine.rulebook, [entry(engine, ACCOUNT)], source="cli")
        for statement in (
            "UPDATE decisions SET tier = 'Gold'",
            "DELETE FROM decisions",
            "UPDATE rulebooks SET version = '2'",
            "DELETE FROM rulebooks",
        ):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"), register.engine.begin() as connection:
                connection.execute(sa.text(statement))
        assert register.count() == 1


def test_replay_gives_identical_bytes_from_the_stored_facts_and_rulebook(register_url: str, tmp_path: Path) -> None:
    upgrade(register_url)
    folder = write(tmp_path / "rules", SMALL_RULEBOOK)
    engine = Engine(load_rulebook(folder))
    with Register(register_url) as register:
        (decision_id,) = register.record(engine.rulebook, [entry(engine, ACCOUNT)], source="cli")
        # The files on disk change afterwards: replay uses the stored rulebook, not them.
        write(folder, SMALL_RULEBOOK.replace("min_score: 60", "min_score: 10"))
        result = replay(register, decision_id)
    assert result.identical and result.differences == []


def test_replay_lists_each_difference_by_path(register_url: str, tmp_path: Path) -> None:
    upgrade(register_url)
    engine = Engine(load_rulebook(write(tmp_path / "rules", SMALL_RULEBOOK)))
    served = engine.decide(ACCOUNT, AS_OF)
    # What a client was served does not follow from the stored facts (here: another
    # account's explanation); replay must say exactly where they part.
    other = engine.decide({**ACCOUNT, "annual_revenue": 20_000_000}, AS_OF)
    with Register(register_url) as register:
        (decision_id,) = register.record(
            engine.rulebook, [Entry.of_decision(served, other.model_dump_json(), ACCOUNT)], source="cli"
        )
        result = replay(register, decision_id)
    assert not result.identical
    assert "scores.attractiveness.criteria[0].value: 20000000.0 -> 2500000.0" in result.differences
    assert any(line.startswith("tier: ") for line in result.differences) == (other.tier != served.tier)


def test_replay_without_stored_facts_says_why(tmp_path: Path) -> None:
    engine = Engine(load_rulebook(write(tmp_path / "rules", SMALL_RULEBOOK)))
    with Register(str(tmp_path / "r.db"), store_facts=False) as register:
        (decision_id,) = register.record(engine.rulebook, [entry(engine, ACCOUNT)], source="cli")
        assert register.decision(decision_id).facts is None
        assert register.decision(decision_id).facts_digest == digest(facts_json(ACCOUNT))
        with pytest.raises(RegisterError, match="without its facts"):
            replay(register, decision_id)


def test_history_names_what_moved_a_tier(register_url: str, tmp_path: Path) -> None:
    upgrade(register_url)
    old = Engine(load_rulebook(write(tmp_path / "v1", SMALL_RULEBOOK)))
    new = Engine(
        load_rulebook(
            write(
                tmp_path / "v2",
                SMALL_RULEBOOK.replace('version: "1"', 'version: "2"').replace("min_score: 60", "min_score: 70"),
            )
        )
    )
    with Register(register_url) as register:
        register.record(old.rulebook, [entry(old, ACCOUNT)], source="cli")
        register.record(old.rulebook, [entry(old, ACCOUNT)], source="cli")
        register.record(new.rulebook, [entry(new, ACCOUNT)], source="service", caller="flow")
        register.record(old.rulebook, [entry(old, {**ACCOUNT, "id": "ACC-2"})], source="cli")
        entries = history(register, "ACC-1")
    assert [e.decision.tier for e in entries] == ["Silver", "Silver", "Bronze"]
    assert [e.changed for e in entries] == [True, False, True]
    assert entries[1].moved_by == []
    moved = entries[2].moved_by
    assert moved[0].startswith("rulebook small 1 -> small 2 (sha256:")
    assert "tier Silver: no longer eligible (score.attractiveness >= 70)" in moved


def test_history_of_an_unknown_account(tmp_path: Path) -> None:
    with (
        Register(str(tmp_path / "r.db")) as register,
        pytest.raises(RegisterError, match="no decision for account 'X'"),
    ):
        history(register, "X")


# -- the commands --------------------------------------------------------------------------

runner = CliRunner()


def test_evaluate_register_history_and_replay_commands(register_url: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["register", "upgrade", register_url])
    assert result.exit_code == 0, result.output
    assert f"schema revision {head_revision()} (was empty)" in result.stdout
    output = tmp_path / "out.jsonl"
    rules, accounts = str(ROOT / "rules"), str(ROOT / "examples" / "accounts.jsonl")
    result = runner.invoke(
        app,
        [
            "evaluate",
            rules,
            accounts,
            "--as-of",
            "2026-11-01",
            "-f",
            "jsonl",
            "-o",
            str(output),
            "--register",
            register_url,
        ],
    )
    assert result.exit_code == 0, result.output
    lines = output.read_text(encoding="utf-8").splitlines()
    with Register(register_url) as register:
        assert register.count() == len(lines) == 300
        stored = register.decisions_of("ACC-00042")
    assert [s.explanation for s in stored] == [line for line in lines if '"account_id":"ACC-00042"' in line]
    assert stored[0].caller is not None and stored[0].caller.startswith("cli")

    result = runner.invoke(app, ["replay", str(stored[0].id), "--register", register_url])
    assert result.exit_code == 0, result.output
    assert "replayed, identical bytes" in result.stdout

    result = runner.invoke(app, ["history", "ACC-00042", "--register", register_url, "--json"])
    assert result.exit_code == 0, result.output
    assert [d["id"] for d in json.loads(result.stdout)] == [stored[0].id]


def test_register_errors_are_messages_with_their_exit_code(tmp_path: Path) -> None:
    url = str(tmp_path / "r.db")
    result = runner.invoke(app, ["replay", "7", "--register", url])
    assert result.exit_code == exit_codes.REGISTER
    assert "no decision 7 in the register" in result.stderr and "Traceback" not in result.output
    result = runner.invoke(app, ["history", "ACC-1", "--register", "postgresql://kam@/x?host=/nonexistent"])
    assert result.exit_code == exit_codes.REGISTER
    assert "cannot open the register" in result.stderr


def test_an_entry_from_the_outcome_has_the_columns_of_one_from_the_decision() -> None:
    engine = Engine(load_rulebook(ROOT / "rules"))
    lines = (ROOT / "examples" / "accounts.jsonl").read_text(encoding="utf-8").splitlines()
    for date in (AS_OF, AS_OF.replace(year=2027)):
        for line in lines:
            facts = json.loads(line)
            outcome = engine.evaluate(engine.validate(facts), date)
            text = outcome.decision_json()
            assert Entry.of_outcome(outcome, text, facts) == Entry.of_decision(outcome.decision(), text, facts)


def capped_rules(tmp_path: Path) -> Path:
    """The default rulebook with Gold and Silver limited, so a batch moves accounts."""
    return default_rules_with(
        tmp_path / "capped",
        "tiers.yaml",
        ("    min_score: 75\n", "    min_score: 75\n    capacity: 3\n"),
        ("    min_score: 60\n", "    min_score: 60\n    capacity: 6\n"),
    )


def test_replay_of_a_batch_decision_with_capacity_gives_identical_bytes(tmp_path: Path) -> None:
    """A batch with tier capacities places each account within its portfolio; replay places
    it again against the placement that batch saved, so the bytes are the batch's."""
    url = str(tmp_path / "register.db")
    output = tmp_path / "out.jsonl"
    args = ["evaluate", str(capped_rules(tmp_path)), str(ROOT / "examples" / "accounts.jsonl"), "--as-of", "2026-11-01"]
    result = runner.invoke(app, [*args, "-f", "jsonl", "-o", str(output), "--register", url])
    assert result.exit_code == 0, result.output
    lines = output.read_text(encoding="utf-8").splitlines()
    moved = [json.loads(line)["account_id"] for line in lines if '"kind":"capacity"' in line]
    assert len(moved) >= 3  # the capacities bite: accounts ranked out of Gold and Silver
    with Register(url) as register:
        chosen = [register.decisions_of(a)[0] for a in moved[:4]] + [register.decisions_of("ACC-00001")[0]]
        assert all(json.loads(s.explanation)["capacity"]["applied"] for s in chosen)
        for stored in chosen:
            replayed = replay(register, stored.id)
            assert replayed.identical, (stored.account_id, replayed.differences)
            assert replayed.replayed in lines


@pytest.mark.slow
def test_evaluate_register_streams_in_bounded_memory(tmp_path: Path) -> None:
    """The records are not held beside the results: the peak of a 2,500-account run is
    about that of a 250-account run. Each record carries 4 KB of text, so holding the
    run's records (as `evaluate --register` did) adds 10 MB to the larger run's peak."""
    rules = write(tmp_path / "rules", SMALL_RULEBOOK)

    def peak(n: int) -> int:
        """The run's traced peak, in a fresh process: what earlier tests left in this one
        (caches, the collector's state) must not count."""
        source = tmp_path / f"in-{n}.jsonl"
        with source.open("w", encoding="utf-8") as out:
            for i in range(n):
                out.write(json.dumps({**ACCOUNT, "id": f"ACC-{i}", "name": f"{i} " + "x" * 4000}) + "\n")
        url = str(tmp_path / f"r-{n}.db")
        script = (
            "import sys, tracemalloc\n"
            "from typer.testing import CliRunner\n"
            "from kamrules.cli.main import app\n"
            "from kamrules.register import recording\n"
            "recording.CHUNK = 50\n"
            "runner = CliRunner()\n"
            "def run(src, url):\n"
            "    r = runner.invoke(app, ['evaluate', sys.argv[1], src, '--as-of', '2026-11-01', '-f', 'jsonl',"
            " '-o', sys.argv[4], '--register', url])\n"
            "    assert r.exit_code == 0, r.output\n"
            "run(sys.argv[5], sys.argv[6])\n"
            "tracemalloc.start()\n"
            "run(sys.argv[2], sys.argv[3])\n"
            "print(tracemalloc.get_traced_memory()[1])\n"
        )
        warm = tmp_path / "warm.jsonl"
        warm.write_text("".join(json.dumps({**ACCOUNT, "id": f"W-{i}"}) + "\n" for i in range(50)), encoding="utf-8")
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                script,
                str(rules),
                str(source),
                url,
                str(tmp_path / "out.jsonl"),
                str(warm),
                str(tmp_path / f"w-{n}.db"),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        with Register(url) as register:
            assert register.count() == n
        return int(done.stdout.strip().splitlines()[-1])

    small, large = peak(250), peak(2_500)
    assert large < small + 3_000_000, (small, large)


@pytest.mark.parametrize(
    ("export", "profile"),
    [
        ("accounts.jsonl", None),
        ("accounts.csv", None),
        ("crm/salesforce_accounts.csv", "salesforce"),
        ("crm/hubspot_companies.jsonl", "hubspot"),
    ],
)
def test_stored_facts_decide_again_to_the_same_bytes(export: str, profile: str | None) -> None:
    """The register keeps the facts as the engine read them (fact names, after the profile):
    decided again by the rulebook alone, every example gives the decision's bytes."""
    import datetime as dt

    from kamrules.portfolio.sources import read_records
    from kamrules.register import facts_of

    rulebook = load_rulebook(ROOT / "rules")
    reader, plain = Engine(rulebook).with_profile(profile), Engine(rulebook)
    plain.profile = reader.profile
    as_of = dt.date(2026, 11, 1)
    count = 0
    for raw in read_records(ROOT / "examples" / export):
        assert raw.data is not None
        outcome = reader.evaluate(reader.validate(raw.data), as_of)
        facts = json.loads(facts_json(facts_of(outcome)))
        assert plain.evaluate(plain.validate(facts), as_of).decision_json() == outcome.decision_json()
        count += 1
    assert count >= 40

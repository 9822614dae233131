"""The database guards of the ledger, its accounts and run lines, as DDL text.

Kept as plain strings so that ``create_all`` (the registration in :mod:`billing.models`) and the
Alembic migrations execute exactly the same DDL. The guard of the allocation runs' lifecycle is
generated from ``RUN_TRANSITIONS`` beside the tables in :mod:`billing.models`, which completes
:data:`_PG_LEDGER_GUARDS` and :data:`_SQLITE_LEDGER_GUARDS` with it.
"""

# Kept as plain strings so the Alembic migration can execute exactly the same DDL. No "%" in them:
# SQLAlchemy's DDL() treats it as a format character.

_SQLITE_GUARDS = [
    # An entry is born pending: a posted entry with no legs yet would be unbalanced.
    """
    CREATE TRIGGER billing_entry_born_pending BEFORE INSERT ON billing_journal_entry
    WHEN NEW.status = 'posted'
    BEGIN SELECT RAISE(ABORT, 'a journal entry is inserted as pending, given its postings, then posted'); END
    """,
    # The check SQLite cannot defer: it runs when the entry is marked posted, after its legs.
    """
    CREATE TRIGGER billing_entry_post_balanced BEFORE UPDATE OF status ON billing_journal_entry
    WHEN NEW.status = 'posted' AND OLD.status <> 'posted' AND (
        (SELECT COUNT(*) FROM billing_posting WHERE entry_id = NEW.id) < 2
        OR (SELECT COALESCE(SUM(amount), 0) FROM billing_posting WHERE entry_id = NEW.id) <> 0)
    BEGIN SELECT RAISE(ABORT, 'journal entry cannot be posted: it needs at least 2 postings adding up to 0 yen'); END
    """,
    """
    CREATE TRIGGER billing_entry_immutable BEFORE UPDATE ON billing_journal_entry
    WHEN OLD.status = 'posted'
    BEGIN SELECT RAISE(ABORT, 'a posted journal entry cannot be changed; post a reversal instead'); END
    """,
    """
    CREATE TRIGGER billing_entry_undeletable BEFORE DELETE ON billing_journal_entry
    WHEN OLD.status = 'posted'
    BEGIN SELECT RAISE(ABORT, 'a posted journal entry cannot be deleted; post a reversal instead'); END
    """,
    """
    CREATE TRIGGER billing_posting_closed BEFORE INSERT ON billing_posting
    WHEN (SELECT status FROM billing_journal_entry WHERE id = NEW.entry_id) = 'posted'
    BEGIN SELECT RAISE(ABORT, 'the journal entry is posted: no posting can be added to it'); END
    """,
    """
    CREATE TRIGGER billing_posting_immutable BEFORE UPDATE ON billing_posting
    WHEN (SELECT status FROM billing_journal_entry WHERE id = OLD.entry_id) = 'posted'
      OR (SELECT status FROM billing_journal_entry WHERE id = NEW.entry_id) = 'posted'
    BEGIN SELECT RAISE(ABORT, 'postings of a posted journal entry cannot be changed; post a reversal instead'); END
    """,
    """
    CREATE TRIGGER billing_posting_undeletable BEFORE DELETE ON billing_posting
    WHEN (SELECT status FROM billing_journal_entry WHERE id = OLD.entry_id) = 'posted'
    BEGIN SELECT RAISE(ABORT, 'postings of a posted journal entry cannot be deleted; post a reversal instead'); END
    """,
]

LEDGER_GUARD_DDL: dict[str, list[str]] = {
    "sqlite": _SQLITE_GUARDS,
}
"""Statements that make the database refuse what the ledger writer never does, per dialect.
Run after ``billing_posting`` exists (both tables are then there)."""

# The PostgreSQL guards (installed by create_all and since migration 0006; the form migration 0001
# installed is history, kept with the migrations in admin/migrations/legacy_guards.py). Every table is named with its schema and every
# function runs with search_path = pg_catalog, pg_temp, so a TEMP table named like a guarded table
# cannot stand in for it (pg_temp is otherwise searched first). ``{s}`` is the quoted schema.
_GUARD_FN_OPTIONS = "LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp"


def _pg_function(name: str, body: str) -> str:
    return f"CREATE OR REPLACE FUNCTION {{s}}.{name}() RETURNS trigger {_GUARD_FN_OPTIONS} AS $guard$\n{body}\n$guard$"


def _pg_trigger(name: str, table: str, create: str) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {name} ON {{s}}.{table}", create]


_PG_LEDGER_GUARDS: dict[str, list[str]] = {"billing_posting": [
    _pg_function("billing_check_entry_balanced", """
DECLARE
    target bigint;
    leg_total numeric;
BEGIN
    IF TG_OP = 'DELETE' THEN
        target := OLD.entry_id;
    ELSE
        target := NEW.entry_id;
    END IF;
    SELECT COALESCE(SUM(amount), 0) INTO leg_total FROM {s}.billing_posting WHERE entry_id = target;
    IF leg_total <> 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = 'journal entry ' || target || ' is unbalanced: its postings add up to '
                      || leg_total || ' yen instead of 0';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.entry_id <> NEW.entry_id THEN
        SELECT COALESCE(SUM(amount), 0) INTO leg_total FROM {s}.billing_posting WHERE entry_id = OLD.entry_id;
        IF leg_total <> 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'check_violation',
                MESSAGE = 'journal entry ' || OLD.entry_id || ' is unbalanced: its postings add up to '
                          || leg_total || ' yen instead of 0';
        END IF;
    END IF;
    RETURN NULL;
END"""),
    *_pg_trigger("billing_posting_balanced", "billing_posting", """CREATE CONSTRAINT TRIGGER billing_posting_balanced
    AFTER INSERT OR UPDATE OR DELETE ON {s}.billing_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION {s}.billing_check_entry_balanced()"""),
    _pg_function("billing_guard_posting", """
BEGIN
    IF TG_OP <> 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM {s}.billing_journal_entry WHERE id = OLD.entry_id AND status = 'posted') THEN
            RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
                MESSAGE = 'postings of posted journal entry ' || OLD.entry_id
                          || ' cannot be changed or deleted; post a reversal instead';
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM {s}.billing_journal_entry WHERE id = NEW.entry_id AND status = 'posted') THEN
        RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
            MESSAGE = 'journal entry ' || NEW.entry_id || ' is posted: no posting can be added to it';
    END IF;
    RETURN NEW;
END"""),
    *_pg_trigger("billing_posting_immutable", "billing_posting", """CREATE TRIGGER billing_posting_immutable
    BEFORE INSERT OR UPDATE OR DELETE ON {s}.billing_posting
    FOR EACH ROW EXECUTE FUNCTION {s}.billing_guard_posting()"""),
    _pg_function("billing_guard_entry", """
DECLARE
    leg_count bigint;
    leg_total numeric;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status = 'posted' THEN
            RAISE EXCEPTION USING ERRCODE = 'check_violation',
                MESSAGE = 'a journal entry is inserted as pending, given its postings, then posted';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.status = 'posted' THEN
        RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
            MESSAGE = 'journal entry ' || OLD.id || ' is posted and cannot be changed or deleted; post a reversal instead';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF NEW.status = 'posted' THEN
        SELECT COUNT(*), COALESCE(SUM(amount), 0) INTO leg_count, leg_total
            FROM {s}.billing_posting WHERE entry_id = NEW.id;
        IF leg_count < 2 OR leg_total <> 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'check_violation',
                MESSAGE = 'journal entry ' || NEW.id || ' cannot be posted: it has ' || leg_count
                          || ' posting(s) adding up to ' || leg_total || ' yen; it needs at least 2 adding up to 0';
        END IF;
    END IF;
    RETURN NEW;
END"""),
    *_pg_trigger("billing_entry_guard", "billing_journal_entry", """CREATE TRIGGER billing_entry_guard
    BEFORE INSERT OR UPDATE OR DELETE ON {s}.billing_journal_entry
    FOR EACH ROW EXECUTE FUNCTION {s}.billing_guard_entry()"""),
], "billing_account": [
    # An account's code, type and tenant never change once a posting uses it (renaming two
    # receivables would swap what the tenants owe); a receivable is bound to its own tenant.
    _pg_function("billing_guard_account", """
BEGIN
    IF TG_OP <> 'DELETE' AND left(NEW.code, 11) = 'receivable:'
       AND NEW.tenant_code IS DISTINCT FROM substr(NEW.code, 12) THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = 'account ' || NEW.code || ' is the receivable of tenant ' || substr(NEW.code, 12)
                      || ' and must be bound to it';
    END IF;
    IF TG_OP = 'INSERT' THEN
        RETURN NEW;
    END IF;
    IF (TG_OP = 'DELETE' OR NEW.code IS DISTINCT FROM OLD.code OR NEW.type IS DISTINCT FROM OLD.type
        OR NEW.tenant_code IS DISTINCT FROM OLD.tenant_code)
       AND EXISTS (SELECT 1 FROM {s}.billing_posting WHERE account_id = OLD.id) THEN
        RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
            MESSAGE = 'account ' || OLD.code || ' has postings: its code, type and tenant cannot be changed, nor the account deleted';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END"""),
    *_pg_trigger("billing_account_fixed", "billing_account", """CREATE TRIGGER billing_account_fixed
    BEFORE INSERT OR UPDATE OR DELETE ON {s}.billing_account
    FOR EACH ROW EXECUTE FUNCTION {s}.billing_guard_account()"""),
], "billing_run_line": [
    # A run's lines are what its approval posts: fixed from review on (and for ever once approved).
    _pg_function("billing_guard_run_line", """
DECLARE
    run_status text;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        SELECT status INTO run_status FROM {s}.billing_run WHERE id = OLD.run_id;
        IF run_status IN ('reviewed', 'approved', 'reversed') THEN
            RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
                MESSAGE = 'lines of allocation run ' || OLD.run_id || ' (' || run_status || ') cannot be changed or deleted';
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
    END IF;
    SELECT status INTO run_status FROM {s}.billing_run WHERE id = NEW.run_id;
    IF run_status IN ('reviewed', 'approved', 'reversed') THEN
        RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
            MESSAGE = 'allocation run ' || NEW.run_id || ' is ' || run_status || ': its lines cannot be changed';
    END IF;
    RETURN NEW;
END"""),
    *_pg_trigger("billing_run_line_fixed", "billing_run_line", """CREATE TRIGGER billing_run_line_fixed
    BEFORE INSERT OR UPDATE OR DELETE ON {s}.billing_run_line
    FOR EACH ROW EXECUTE FUNCTION {s}.billing_guard_run_line()"""),
]}


# The same rules on SQLite (the embedded default): triggers whose WHEN clause is the PostgreSQL
# function's condition. SQLite's RAISE takes a literal message, so it cannot name the row; the
# triggers name their own tables only (SQLite has no TEMP-table shadowing of another schema's
# trigger body). As in the PostgreSQL function, an unbound receivable is named before an account
# in use (hence the NOT in billing_account_fixed: SQLite's trigger order is not a contract).
# Installed by ``create_all`` (below) and by migration 0013; the ledger's own
# SQLite guards (_SQLITE_GUARDS) predate them and stay in migration 0001.
_SQLITE_RECEIVABLE_UNBOUND = ("substr(NEW.code, 1, 11) = 'receivable:' "
                              "AND NEW.tenant_code IS NOT substr(NEW.code, 12)")
_SQLITE_RECEIVABLE_MESSAGE = ("a receivable account (receivable:<tenant code>) must be bound to its own tenant: "
                              "its tenant_code must be that code")
_SQLITE_ACCOUNT_USED = "EXISTS (SELECT 1 FROM billing_posting WHERE account_id = OLD.id)"
_SQLITE_RUN_CLOSED = "(SELECT status FROM billing_run WHERE id = {side}.run_id) IN ('reviewed', 'approved', 'reversed')"

_SQLITE_LEDGER_GUARDS: dict[str, dict[str, str]] = {"billing_account": {
    "billing_account_bound_on_insert": f"""
    CREATE TRIGGER billing_account_bound_on_insert BEFORE INSERT ON billing_account
    WHEN {_SQLITE_RECEIVABLE_UNBOUND}
    BEGIN SELECT RAISE(ABORT, '{_SQLITE_RECEIVABLE_MESSAGE}'); END""",
    "billing_account_bound_on_update": f"""
    CREATE TRIGGER billing_account_bound_on_update BEFORE UPDATE ON billing_account
    WHEN {_SQLITE_RECEIVABLE_UNBOUND}
    BEGIN SELECT RAISE(ABORT, '{_SQLITE_RECEIVABLE_MESSAGE}'); END""",
    "billing_account_fixed": f"""
    CREATE TRIGGER billing_account_fixed BEFORE UPDATE ON billing_account
    WHEN (NEW.code IS NOT OLD.code OR NEW.type IS NOT OLD.type OR NEW.tenant_code IS NOT OLD.tenant_code)
      AND {_SQLITE_ACCOUNT_USED} AND NOT ({_SQLITE_RECEIVABLE_UNBOUND})
    BEGIN SELECT RAISE(ABORT, 'the account has postings: its code, type and tenant cannot be changed'); END""",
    "billing_account_undeletable": f"""
    CREATE TRIGGER billing_account_undeletable BEFORE DELETE ON billing_account
    WHEN {_SQLITE_ACCOUNT_USED}
    BEGIN SELECT RAISE(ABORT, 'the account has postings: it cannot be deleted'); END""",
}, "billing_run_line": {
    "billing_run_line_closed": f"""
    CREATE TRIGGER billing_run_line_closed BEFORE INSERT ON billing_run_line
    WHEN {_SQLITE_RUN_CLOSED.format(side="NEW")}
    BEGIN SELECT RAISE(ABORT, 'the allocation run is reviewed, approved or reversed: no line can be added to it'); END""",
    "billing_run_line_immutable": f"""
    CREATE TRIGGER billing_run_line_immutable BEFORE UPDATE ON billing_run_line
    WHEN {_SQLITE_RUN_CLOSED.format(side="OLD")} OR {_SQLITE_RUN_CLOSED.format(side="NEW")}
    BEGIN SELECT RAISE(ABORT, 'lines of a reviewed, approved or reversed allocation run cannot be changed'); END""",
    "billing_run_line_undeletable": f"""
    CREATE TRIGGER billing_run_line_undeletable BEFORE DELETE ON billing_run_line
    WHEN {_SQLITE_RUN_CLOSED.format(side="OLD")}
    BEGIN SELECT RAISE(ABORT, 'lines of a reviewed, approved or reversed allocation run cannot be deleted'); END""",
}}

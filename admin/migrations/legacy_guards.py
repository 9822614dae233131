"""The database guards as migration 0001 installed them on PostgreSQL: history, kept for that
migration and for 0006's downgrade only. renkei's guards are :data:`core.audit.AUDIT_GUARD_DDL` /
:func:`core.audit.audit_guards_pg` and :mod:`billing.ledger_guards` (the form since 0006: tables
named with their schema, search_path fixed); nothing else may use these.

Kept as plain strings, as the migration executed them. No "%" in them: SQLAlchemy's DDL() treats
it as a format character.
"""

AUDIT_GUARDS_0001_PG: dict[str, list[str]] = {
        "audit_record": [
            """
CREATE OR REPLACE FUNCTION renkei_audit_record_guard() RETURNS trigger LANGUAGE plpgsql AS $guard$
BEGIN
    IF TG_OP = 'DELETE'
       AND current_setting('renkei.audit_purge', true) = 'on'
       AND OLD.seq <= COALESCE((SELECT purged_through_seq FROM audit_anchor WHERE id = 1), 0) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'audit_record is append-only: ' || TG_OP || ' of record #' || OLD.seq || ' refused',
        HINT = 'Records leave the log only through renkei audit purge, which archives them first.',
        ERRCODE = 'insufficient_privilege';
END
$guard$
""",
            "CREATE TRIGGER audit_record_append_only BEFORE UPDATE OR DELETE ON audit_record "
            "FOR EACH ROW EXECUTE FUNCTION renkei_audit_record_guard()",
        ],
        "audit_chain_head": [
            """
CREATE OR REPLACE FUNCTION renkei_audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $guard$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.last_seq > OLD.last_seq THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'audit_chain_head only moves forward: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END
$guard$
""",
            "CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE OR DELETE ON audit_chain_head "
            "FOR EACH ROW EXECUTE FUNCTION renkei_audit_head_guard()",
        ],
        "audit_anchor": [
            """
CREATE OR REPLACE FUNCTION renkei_audit_anchor_guard() RETURNS trigger LANGUAGE plpgsql AS $guard$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.purged_through_seq >= OLD.purged_through_seq THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'audit_anchor only moves forward: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END
$guard$
""",
            "CREATE TRIGGER audit_anchor_forward_only BEFORE UPDATE OR DELETE ON audit_anchor "
            "FOR EACH ROW EXECUTE FUNCTION renkei_audit_anchor_guard()",
        ],
    }


_PG_BALANCE_FUNCTION = """
CREATE OR REPLACE FUNCTION billing_check_entry_balanced() RETURNS trigger AS $$
DECLARE
    target bigint;
    leg_total numeric;
BEGIN
    IF TG_OP = 'DELETE' THEN
        target := OLD.entry_id;
    ELSE
        target := NEW.entry_id;
    END IF;
    SELECT COALESCE(SUM(amount), 0) INTO leg_total FROM billing_posting WHERE entry_id = target;
    IF leg_total <> 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = 'journal entry ' || target || ' is unbalanced: its postings add up to '
                      || leg_total || ' yen instead of 0';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.entry_id <> NEW.entry_id THEN
        SELECT COALESCE(SUM(amount), 0) INTO leg_total FROM billing_posting WHERE entry_id = OLD.entry_id;
        IF leg_total <> 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'check_violation',
                MESSAGE = 'journal entry ' || OLD.entry_id || ' is unbalanced: its postings add up to '
                          || leg_total || ' yen instead of 0';
        END IF;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""

_PG_BALANCE_TRIGGER = """
CREATE CONSTRAINT TRIGGER billing_posting_balanced
    AFTER INSERT OR UPDATE OR DELETE ON billing_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_check_entry_balanced()
"""

_PG_POSTING_GUARD_FUNCTION = """
CREATE OR REPLACE FUNCTION billing_guard_posting() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM billing_journal_entry WHERE id = OLD.entry_id AND status = 'posted') THEN
            RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
                MESSAGE = 'postings of posted journal entry ' || OLD.entry_id
                          || ' cannot be changed or deleted; post a reversal instead';
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM billing_journal_entry WHERE id = NEW.entry_id AND status = 'posted') THEN
        RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
            MESSAGE = 'journal entry ' || NEW.entry_id || ' is posted: no posting can be added to it';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql
"""

_PG_POSTING_GUARD_TRIGGER = """
CREATE TRIGGER billing_posting_immutable
    BEFORE INSERT OR UPDATE OR DELETE ON billing_posting
    FOR EACH ROW EXECUTE FUNCTION billing_guard_posting()
"""

_PG_ENTRY_GUARD_FUNCTION = """
CREATE OR REPLACE FUNCTION billing_guard_entry() RETURNS trigger AS $$
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
            FROM billing_posting WHERE entry_id = NEW.id;
        IF leg_count < 2 OR leg_total <> 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'check_violation',
                MESSAGE = 'journal entry ' || NEW.id || ' cannot be posted: it has ' || leg_count
                          || ' posting(s) adding up to ' || leg_total || ' yen; it needs at least 2 adding up to 0';
        END IF;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql
"""

_PG_ENTRY_GUARD_TRIGGER = """
CREATE TRIGGER billing_entry_guard
    BEFORE INSERT OR UPDATE OR DELETE ON billing_journal_entry
    FOR EACH ROW EXECUTE FUNCTION billing_guard_entry()
"""


LEDGER_GUARDS_0001_PG: list[str] = [
    _PG_BALANCE_FUNCTION,
    _PG_BALANCE_TRIGGER,
    _PG_POSTING_GUARD_FUNCTION,
    _PG_POSTING_GUARD_TRIGGER,
    _PG_ENTRY_GUARD_FUNCTION,
    _PG_ENTRY_GUARD_TRIGGER,
]

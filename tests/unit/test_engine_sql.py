"""store/engine.to_pg: the one SQL dialect of store/ in psycopg's parameter style."""

from __future__ import annotations

from memoryd.store.engine import _numbered, to_pg


def test_question_marks_and_names_become_psycopg_parameters() -> None:
    assert to_pg("SELECT a FROM t WHERE b = ? AND c = ?") == (
        "SELECT a FROM t WHERE b = %s AND c = %s"
    )
    assert to_pg("UPDATE t SET a = :now WHERE k = :key_1") == (
        "UPDATE t SET a = %(now)s WHERE k = %(key_1)s"
    )


def test_quoted_text_comments_casts_and_percent_are_left_alone_or_escaped() -> None:
    sql = "SELECT '?', ':x', \"q?\", x::text, a % 2 -- why? :no\nFROM t WHERE y = ?"
    assert to_pg(sql) == (
        "SELECT '?', ':x', \"q?\", x::text, a %% 2 -- why? :no\nFROM t WHERE y = %s"
    )
    assert to_pg("SELECT 'it''s ?' WHERE a = :a") == "SELECT 'it''s ?' WHERE a = %(a)s"


def test_sqlite_numbered_parameters_are_passed_by_name() -> None:
    sql = "UPDATE t SET a = ?1, b = CASE WHEN c <> ?2 THEN 1 END, c = ?2 WHERE p = ?3"
    assert to_pg(sql) == (
        "UPDATE t SET a = %(p1)s, b = CASE WHEN c <> %(p2)s THEN 1 END, c = %(p2)s WHERE p = %(p3)s"
    )
    assert _numbered(sql, (10, 20, "x")) == {"p1": 10, "p2": 20, "p3": "x"}
    assert _numbered("SELECT ?", (1,)) == (1,)


def test_sqlite_index_hints_are_dropped() -> None:
    assert to_pg("SELECT 1 FROM threads t INDEXED BY threads_stage1_pending WHERE x") == (
        "SELECT 1 FROM threads t WHERE x"
    )


def test_bools_are_bound_as_the_integers_sqlite_stores() -> None:
    # The flag columns (threads.archived ...) are integers: PostgreSQL refuses a boolean there.
    assert _numbered("SELECT ?, ?", (True, "x")) == (1, "x")
    assert _numbered("SELECT :a", {"a": False}) == {"a": 0}
    assert _numbered("SELECT ?1", (True,)) == {"p1": 1}
    bound = _numbered("SELECT ?", (True,))
    assert isinstance(bound, tuple) and type(bound[0]) is int

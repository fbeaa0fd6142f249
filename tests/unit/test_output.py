"""The stage-1 output contract: schema, lenient parser, final redaction and caps, chunk merge."""

from __future__ import annotations

import json
from typing import Any

import pytest
from structlog.testing import capture_logs

from memoryd.extract.base import OutputError, Stage1Output
from memoryd.extract.output import (
    MAX_RAW_MEMORY_CHARS,
    MAX_SLUG_CHARS,
    MAX_SUMMARY_CHARS,
    STAGE1_SCHEMA,
    cap_middle,
    finalize_output,
    merge_partials,
    parse_stage1_detailed,
    parse_stage1_output,
    sanitize_slug,
)

GOOD: dict[str, Any] = {
    "rollout_summary": "Fixed the flaky DB test.\n\nRollout context: /work/app on main.",
    "rollout_slug": "fix-flaky-db-test",
    "raw_memory": "---\ndescription: flaky test fix\n---\n\n### Task 1\ntask: fix it\n",
}
GOOD_TEXT = json.dumps(GOOD)


def out(summary: str = "s", raw: str = "m", slug: str | None = None) -> Stage1Output:
    return Stage1Output(rollout_summary=summary, raw_memory=raw, rollout_slug=slug)


def expect_error(text: str, *fragments: str, allow_legacy: bool = True) -> str:
    with pytest.raises(OutputError) as info:
        parse_stage1_output(text, allow_legacy=allow_legacy)
    msg = str(info.value)
    assert "\n" not in msg and "\r" not in msg, msg  # one line
    assert len(msg) < 400, msg
    for f in fragments:
        assert f in msg, (f, msg)
    return msg


# --- the schema --------------------------------------------------------------------------


def test_schema_is_strict_and_matches_codex() -> None:
    assert STAGE1_SCHEMA["type"] == "object"
    assert STAGE1_SCHEMA["additionalProperties"] is False
    assert set(STAGE1_SCHEMA["required"]) == {"rollout_summary", "rollout_slug", "raw_memory"}
    props = STAGE1_SCHEMA["properties"]
    assert props["rollout_summary"] == {"type": "string"}
    assert props["raw_memory"] == {"type": "string"}
    assert props["rollout_slug"] == {"type": ["string", "null"]}
    json.dumps(STAGE1_SCHEMA)  # serialisable as the request's schema


# --- accepted shapes ---------------------------------------------------------------------


def test_exact_object() -> None:
    parsed = parse_stage1_detailed(GOOD_TEXT)
    assert parsed.shape == "json" and parsed.legacy_keys == ()
    assert parsed.output == Stage1Output(**GOOD)


def test_whitespace_around_and_unicode_kept() -> None:
    obj = {**GOOD, "raw_memory": "préférence: “tabs” — 日本語"}
    o = parse_stage1_output("\n\n  " + json.dumps(obj, ensure_ascii=False) + "  \n")
    assert o.raw_memory == "préférence: “tabs” — 日本語"


@pytest.mark.parametrize("slug", [None, "x"])
def test_slug_null_or_string(slug: str | None) -> None:
    assert parse_stage1_output(json.dumps({**GOOD, "rollout_slug": slug})).rollout_slug == slug


def test_slug_may_be_absent() -> None:
    obj = {k: v for k, v in GOOD.items() if k != "rollout_slug"}
    assert parse_stage1_output(json.dumps(obj)).rollout_slug is None


def test_field_values_are_not_trimmed() -> None:
    o = parse_stage1_output(json.dumps({**GOOD, "raw_memory": "  m \n"}))
    assert o.raw_memory == "  m \n"


def test_no_op_object_is_empty() -> None:
    o = parse_stage1_output('{"rollout_summary": "", "rollout_slug": "", "raw_memory": ""}')
    assert o.is_empty()


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        (f"```json\n{GOOD_TEXT}\n```", "json_fence"),
        (f"Here you go:\n```JSON\n{GOOD_TEXT}\n```\nDone.", "json_fence"),
        (f"```\n{GOOD_TEXT}\n```", "bare_fence"),
        (f"Some words first.\n```\n{json.dumps(GOOD, indent=2)}\n```\n", "bare_fence"),
        (f"The memory is {GOOD_TEXT} and that is all.", "embedded"),
        (f"Output:\n{json.dumps(GOOD, indent=2)}\nThanks!", "embedded"),
    ],
)
def test_fenced_and_embedded(text: str, shape: str) -> None:
    parsed = parse_stage1_detailed(text)
    assert parsed.shape == shape
    assert parsed.output == Stage1Output(**GOOD)


def test_unwrapped_output_is_logged() -> None:
    with capture_logs() as logs:
        parse_stage1_output(f"```json\n{GOOD_TEXT}\n```")
    assert {"event": "stage1_output_unwrapped", "shape": "json_fence", "log_level": "info"} in logs


@pytest.mark.parametrize(
    ("obj", "legacy"),
    [
        ({"summary": "S", "rawMemory": "R"}, ("summary", "rawMemory")),
        ({"summary": "S", "traceMemory": "R", "rollout_slug": "x"}, ("summary", "traceMemory")),
        ({"rollout_summary": "S", "rawMemory": "R"}, ("rawMemory",)),
    ],
)
def test_legacy_keys_are_mapped_and_reported(obj: dict[str, Any], legacy: tuple[str, ...]) -> None:
    parsed = parse_stage1_detailed(json.dumps(obj))
    assert parsed.output.rollout_summary == "S" and parsed.output.raw_memory == "R"
    assert parsed.legacy_keys == legacy
    with capture_logs() as logs:
        parse_stage1_output(json.dumps(obj))
    assert [e for e in logs if e["event"] == "stage1_legacy_keys"] == [
        {"event": "stage1_legacy_keys", "keys": list(legacy), "log_level": "info"}
    ]


def test_legacy_keys_inside_a_fence() -> None:
    o = parse_stage1_output('```json\n{"summary": "S", "rawMemory": "R"}\n```')
    assert (o.rollout_summary, o.raw_memory) == ("S", "R")


def test_exact_keys_log_nothing() -> None:
    with capture_logs() as logs:
        parse_stage1_output(GOOD_TEXT)
    assert logs == []


def test_first_usable_candidate_wins() -> None:
    # The whole text is not JSON; the ```json fence is preferred over the outer braces.
    text = 'Draft: {"nope": 1}\n```json\n' + GOOD_TEXT + "\n```\n"
    assert parse_stage1_detailed(text).shape == "json_fence"


# --- rejected shapes ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_reply(text: str) -> None:
    expect_error(text, "no output text")


def test_prose_without_an_object() -> None:
    msg = expect_error("I could not find anything worth saving.", "holds no JSON object")
    assert '"I could not find anything worth saving."' in msg


def test_invalid_json_names_the_problem_and_quotes_it() -> None:
    text = '{"rollout_summary": "x",\n "raw_memory": "y" "rollout_slug": null}'
    msg = expect_error(text, "not valid JSON", "line 2", '"{\\"rollout_summary\\"')
    assert msg.startswith("model output is not valid JSON (Expecting ',' delimiter")


def test_truncated_json_excerpt_is_short() -> None:
    text = '{"rollout_summary": "' + "a" * 5000
    msg = expect_error(text, "not valid JSON", "…")
    assert len(msg) < 250


def test_invalid_json_in_a_fence() -> None:
    expect_error("```json\n{rollout_summary: 'x'}\n```", "not valid JSON")


@pytest.mark.parametrize(
    ("text", "kind"), [("[1, 2]", "array"), ('"just a string"', "string"), ("42", "number")]
)
def test_json_that_is_not_an_object(text: str, kind: str) -> None:
    expect_error(text, f"is JSON but a {kind}, not an object")


def test_unknown_key() -> None:
    msg = expect_error(json.dumps({**GOOD, "confidence": 0.9}), '"confidence"', "unexpected key")
    assert "only rollout_summary, rollout_slug and raw_memory are allowed" in msg


def test_several_unknown_keys_are_named() -> None:
    expect_error(json.dumps({**GOOD, "a": 1, "b": 2}), '"a", "b"')


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("raw_memory", 42, "number"),
        ("raw_memory", None, "null"),
        ("rollout_summary", ["a"], "array"),
        ("rollout_summary", {"x": 1}, "object"),
        ("raw_memory", True, "boolean"),
    ],
)
def test_wrong_type(field: str, value: Any, kind: str) -> None:
    expect_error(json.dumps({**GOOD, field: value}), f'"{field}" must be a string', f"got {kind}")


def test_wrong_slug_type() -> None:
    expect_error(json.dumps({**GOOD, "rollout_slug": 7}), "string or null", 'got number: "7"')


@pytest.mark.parametrize("missing", ["rollout_summary", "raw_memory"])
def test_missing_required_key(missing: str) -> None:
    obj = {k: v for k, v in GOOD.items() if k != missing}
    expect_error(json.dumps(obj), f"lacks the required key {missing}")


def test_legacy_keys_can_be_switched_off() -> None:
    expect_error(
        json.dumps({"summary": "S", "raw_memory": "R"}),
        'legacy key "summary"',
        "switched off",
        allow_legacy=False,
    )


@pytest.mark.parametrize(
    "obj",
    [
        {"rollout_summary": "S", "summary": "T", "raw_memory": "R"},
        {"rollout_summary": "S", "rawMemory": "R", "traceMemory": "T"},
    ],
)
def test_the_same_field_twice(obj: dict[str, Any]) -> None:
    expect_error(json.dumps(obj), "twice")


def test_deep_nesting_is_an_output_error() -> None:
    expect_error("[" * 100_000 + "]" * 100_000)


# --- finalize ----------------------------------------------------------------------------

OPENAI_KEY = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 3
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2


def test_finalize_redacts_secrets_the_model_echoes() -> None:
    o = finalize_output(
        out(
            summary=f"The user pasted {OPENAI_KEY} into the chat.",
            raw=f"- export OPENAI_API_KEY={OPENAI_KEY}\n- token: {GITHUB_TOKEN}\n",
            slug=f"leak-{OPENAI_KEY}",
        )
    )
    for field in (o.rollout_summary, o.raw_memory, o.rollout_slug or ""):
        assert OPENAI_KEY not in field and GITHUB_TOKEN not in field
        assert OPENAI_KEY[8:24] not in field
    assert "[REDACTED_SECRET]" in o.rollout_summary
    assert "[REDACTED_SECRET]" in o.raw_memory


def test_finalize_keeps_ordinary_text_and_is_idempotent() -> None:
    o = out(summary="Ran `git log 3f2a9c1d` for 5b0e2c4e-8b1f-4c9a-9d3e-2f1a0b9c8d7e", raw="m")
    once = finalize_output(o)
    assert once.rollout_summary == o.rollout_summary
    assert finalize_output(once) == once


def test_finalize_caps_raw_memory_and_summary() -> None:
    raw = "H" * 200_000 + "M" * 200_000 + "T" * 200_000
    summary = "h" * 15_000 + "t" * 15_000
    o = finalize_output(out(summary=summary, raw=raw))
    assert len(o.raw_memory) == MAX_RAW_MEMORY_CHARS
    assert o.raw_memory.startswith("H" * 1000) and o.raw_memory.endswith("T" * 1000)
    assert "[... raw memory truncated:" in o.raw_memory
    assert len(o.rollout_summary) == MAX_SUMMARY_CHARS
    assert "[... rollout summary truncated:" in o.rollout_summary
    assert finalize_output(o) == o


def test_finalize_keeps_the_no_op_empty() -> None:
    o = finalize_output(out("", "", ""))
    assert o.is_empty() and o.rollout_slug is None


def test_cap_middle_exact_numbers() -> None:
    text = "a" * 100 + "b" * 100
    capped = cap_middle(text, 120, "x")
    assert len(capped) == 120
    assert capped.startswith("a") and capped.endswith("b") and "[... x truncated: " in capped
    assert cap_middle(text, 200, "x") == text
    assert len(cap_middle(text, 5, "x")) == 5


def test_cap_middle_reports_omitted_chars() -> None:
    text = "".join(chr(ord("a") + i % 26) for i in range(10_000))
    capped = cap_middle(text, 1_000, "raw memory")
    head, rest = capped.split("\n\n[... raw memory truncated: ", 1)
    omitted_s, tail = rest.split(" chars omitted ...]\n\n", 1)
    assert text.startswith(head) and text.endswith(tail)
    assert len(head) + int(omitted_s) + len(tail) == len(text)


@pytest.mark.parametrize(
    ("slug", "expected"),
    [
        ("fix-flaky-db-test", "fix-flaky-db-test"),
        ("Fix Flaky DB Tests!", "fix-flaky-db-tests"),
        ("../../etc/passwd", "etc-passwd"),
        ("café_crème", "cafe_creme"),
        ("___", None),
        ("", None),
        (None, None),
        ("a" * 200, "a" * MAX_SLUG_CHARS),
        ("ab-" * 40, ("ab-" * 27)[:MAX_SLUG_CHARS].rstrip("-")),
    ],
)
def test_sanitize_slug(slug: str | None, expected: str | None) -> None:
    got = sanitize_slug(slug)
    assert got == expected
    if got is not None:
        assert len(got) <= MAX_SLUG_CHARS


# --- merge -------------------------------------------------------------------------------

EMPTY = Stage1Output(rollout_summary="", raw_memory="", rollout_slug="")


def test_merge_of_nothing_or_empties_is_empty() -> None:
    assert merge_partials([]).is_empty()
    merged = merge_partials([EMPTY, out("", "m"), out("s", "")])
    assert merged == Stage1Output(rollout_summary="", raw_memory="", rollout_slug=None)


def test_merge_of_one_non_empty_part_is_that_part() -> None:
    part = out("only summary", "only memory", "the-slug")
    assert merge_partials([EMPTY, part, EMPTY]) == part
    assert merge_partials([part]) == part


def test_merge_joins_under_part_headings_in_order() -> None:
    parts = [out("s1\n", "m1", None), EMPTY, out("s3", "m3", "slug-3"), out("s4", "m4", "slug-4")]
    merged = merge_partials(parts)
    assert merged.rollout_summary == (
        "## Part 1 of 4\n\ns1\n\n## Part 3 of 4\n\ns3\n\n## Part 4 of 4\n\ns4"
    )
    assert merged.raw_memory == (
        "## Part 1 of 4\n\nm1\n\n## Part 3 of 4\n\nm3\n\n## Part 4 of 4\n\nm4"
    )
    assert merged.rollout_slug == "slug-3"
    assert merge_partials(list(parts)) == merged  # deterministic


def test_merge_is_capped() -> None:
    parts = [out("s" * 15_000, "m" * 200_000), out("t" * 15_000, "n" * 200_000)]
    merged = merge_partials(parts)
    assert len(merged.raw_memory) == MAX_RAW_MEMORY_CHARS
    assert len(merged.rollout_summary) == MAX_SUMMARY_CHARS
    assert merged.raw_memory.startswith("## Part 1 of 2") and merged.raw_memory.endswith("n")

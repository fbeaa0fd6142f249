"""Secret redaction for rollout text, model outputs and every file memoryd writes.

A superset of Codex's ``redact_secrets``: its four patterns keep their exact replacement
behaviour (``Bearer [REDACTED_SECRET]``, ``name=`` kept in assignments), and the common
modern credential shapes are added. Value patterns stop at quotes and take a backslash
escape as one character, so redacting serialized JSON leaves valid JSON.

Speed: the text is matched as UTF-8 bytes, case-insensitive patterns against an ASCII-only
lower-cased copy (``bytes.lower`` is cheap and keeps every offset), and every regex starts
with a literal, so the engine can skip through text that holds no candidate. Word boundaries
are ASCII here, which can only widen a match compared with Codex's Unicode ``\\b``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[REDACTED_SECRET]"
_R = REDACTED.encode()
_BEARER = b"Bearer " + _R

# No pattern can match fewer bytes than this (``X_KEY=abc``, ``s://:pw@``).
_MIN_SECRET_LEN = 8

# Each regex marks the bytes to replace with a group named ``v_<pattern name>``; the rest of
# the match (a kept ``name=`` or URL prefix) stays. One regex may report several names.

_PEM = (
    r"(?P<v_pem_private_key>-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY((?: BLOCK)?)-----"
    # Body: base64, header lines (Proc-Type: 4,ENCRYPTED) and line breaks, real or written
    # as backslash-n inside a JSON string. No quotes: a match never runs into the next string.
    r"(?:[A-Za-z0-9+/=\s\\:,.\-]*?-----END \2PRIVATE KEY\3-----"
    # No END line (a cut-off listing): the header and the base64 lines after it.
    r"|(?:(?:\r?\n|\\r\\n|\\n)[ \t]*(?:[A-Za-z0-9+/=]{16,}|[A-Za-z\-]+: [^\r\n\\\"]*))*))"
)

_URL_PASSWORD = r"://(?<=[A-Za-z0-9+.\-]://)[^\s:/@\"'\\<>]*:(?P<v_url_password>[^\s/@\"'\\<>]+)@"

# A JSON / Python-dict field whose key names a secret, with a string value; the quotes may be
# escaped (JSON inside a JSON string). Codex's assignment pattern misses these because a quote
# sits between the key and the colon.
_FIELD = r"\\?[\"']\s*:\s*\\?[\"'](?P<v_secret_field>[^\"'\\\r\n]{6,})(?=\\?[\"'])"
# A character of an unquoted value; a backslash escape counts as one. A backslash-n, -r or -t
# ends the value like the whitespace it stands for (inside a JSON string, as in a serialized
# rollout, a value would otherwise run on through every following "line"), and an escaped
# quote ends it like a quote: a match never stops between a backslash and what it escapes.
_VALUE_CHAR = r"(?:[^\s\"'\\]|\\[^\s\"'nrt])"
_QUOTED_CHAR = r"(?:[^\"'\\\r\n]|\\[^\"'nrt\r\n])"
# Codex's assignment tail: separator, optional quote, >= 8 chars that are not space or quote.
_ASSIGN = rf"\s*[:=]\s*[\"']?(?P<v_secret_assignment>{_VALUE_CHAR}{{8,}})"

# Codex's `\bapi[_-]?key\b`, checked after the literal `key` so the regex starts with one.
_API_KEY_WORD = (
    r"(?:(?<=api_key)(?<![a-z0-9_]api_key)|(?<=api-key)(?<![a-z0-9_]api-key)"
    r"|(?<=apikey)(?<![a-z0-9_]apikey))"
)
_SECRET_KEY_BEFORE = (
    r"(?:(?<=api_key)|(?<=api-key)|(?<=apikey)|(?<=access_key)|(?<=access-key)"
    r"|(?<=accesskey)|(?<=private_key)|(?<=private-key)|(?<=privatekey)"
    r"|(?<=secret_key)|(?<=secret-key)|(?<=secretkey))"
)


_AWS_SECRET_TAIL = (
    r"\\?[\"']?\s*[:=]\s*\\?[\"']?(?P<v_aws_secret_access_key>[a-z0-9/+=]{40})(?![a-z0-9/+=])"
)

# `.env` / shell assignments to upper-case names that say "secret". Lower-case names are left
# to the assignment pattern: `primary_key=True` or `sort_key=lambda` in code is no secret.
# `$VAR` values are references, not secrets.
_ENV_TAIL = (
    r"[ \t]*=[ \t]*(?P<q>[\"'])?(?!\$)"
    rf"(?P<v_env_secret>(?(q){_QUOTED_CHAR}+|(?:(?![`;&|]){_VALUE_CHAR}){{3,}}))(?(q)(?P=q))"
)

# A Discord bot id (17 to 19 ASCII digits) in base64 without padding: each group of four
# characters encodes three digits; a trailing group of two digits gives three characters,
# one digit two.
_B64_DIGITS = "[MNO][DTjz][AEIMQUYcgk][w-z0-5]"
_DISCORD_ID24 = f"(?:{_B64_DIGITS}){{6}}"
_DISCORD_ID23 = f"(?:{_B64_DIGITS}){{5}}[MNO][DTjz][AEIMQUYcgk]"
_DISCORD_ID26 = f"(?:{_B64_DIGITS}){{6}}[MNO][AQgw]"


def _after_id(id_rx: str) -> str:
    """Lookbehinds at a dot: a whole Discord id (not the tail of a longer token) precedes it."""
    return rf"(?<={id_rx}\.)(?<![A-Za-z0-9_\-.]{id_rx}\.)"


# The rest of a command line, up to a bound: a backslash-n ends it like a newline.
_SAME_LINE = r"(?:[^\r\n\\]|\\[^nrt\r\n]){0,300}?"
# Between .netrc tokens: blanks, or a line break (real or written as backslash-n).
_NETRC_GAP = r"(?:[ \t]|\r?\n|\\[nrt])+"

# (regex, matched against the lower-cased copy, lower-case literals one of which every match
# holds: a short text only meets the regexes whose literals it contains). Every literal is one more
# scan of each short text, so a regex names a literal already listed where its matches all
# hold one (``AccountKey=`` holds ``key``): running a regex that starts with a literal on a
# text without it costs about as much as the check.
_SOURCES: tuple[tuple[str, bool, tuple[str, ...]], ...] = (
    (_PEM, False, ("-----begin ",)),
    (_URL_PASSWORD, False, ("://",)),
    (
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/"
        r"(?P<v_slack_webhook>[A-Za-z0-9_/\-]{16,})",
        False,
        ("hooks.slack.com",),
    ),
    (
        r"(?P<v_jwt>eyJ(?<![A-Za-z0-9_]eyJ)[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}"
        r"\.[A-Za-z0-9_\-]{8,})",
        False,
        ("eyj",),
    ),
    (
        # One regex, so the text is searched for `sk-` once; these replace the whole match.
        r"sk-(?:(?P<v_openai_project_key>(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,})"
        r"|(?P<v_anthropic_key>ant-[A-Za-z0-9_\-]{20,})"
        # Codex 1/4 verbatim: `sk-` and 20+ letters or digits, no word boundary.
        r"|(?P<v_openai_key>[A-Za-z0-9]{20,}))",
        False,
        ("sk-",),
    ),
    (
        r"(?P<v_stripe_key>sk_(?<![A-Za-z0-9_]sk_)(?:live|test)_[A-Za-z0-9]{16,})",
        False,
        ("sk_",),
    ),
    (
        r"(?P<v_stripe_key>rk_(?<![A-Za-z0-9_]rk_)(?:live|test)_[A-Za-z0-9]{16,})",
        False,
        ("rk_",),
    ),
    (
        r"(?P<v_github_token>gh[pousr]_(?<![A-Za-z0-9_]gh[pousr]_)[A-Za-z0-9]{30,})"
        r"(?![A-Za-z0-9_])",
        False,
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ),
    (
        r"(?P<v_github_pat>github_pat_(?<![A-Za-z0-9_]github_pat_)[A-Za-z0-9_]{22,})",
        False,
        ("github_pat_",),
    ),
    (
        r"(?P<v_slack_token>xox[abposr]-(?<![A-Za-z0-9_]xox[abposr]-)[A-Za-z0-9\-]{10,})",
        False,
        ("xox",),
    ),
    (
        r"(?P<v_google_api_key>AIza(?<![A-Za-z0-9_]AIza)[0-9A-Za-z_\-]{35})(?![0-9A-Za-z_\-])",
        False,
        ("aiza",),
    ),
    # Codex 2/4 is the AKIA half.
    (
        r"(?P<v_aws_access_key_id>A[KS]IA(?<![A-Za-z0-9_]A[KS]IA)[0-9A-Z]{16})(?![A-Za-z0-9_])",
        False,
        ("akia", "asia"),
    ),
    (rf"secret_access_key{_AWS_SECRET_TAIL}", True, ("secret_access_key",)),
    (rf"aws_secret_key{_AWS_SECRET_TAIL}", True, ("aws_secret_key",)),
    (
        r"(?P<v_npm_token>npm_(?<![A-Za-z0-9_]npm_)[A-Za-z0-9]{36})(?![A-Za-z0-9_])",
        False,
        ("npm_",),
    ),
    (r"(?P<v_pypi_token>pypi-(?<![A-Za-z0-9_]pypi-)AgE[A-Za-z0-9_\-]{50,})", False, ("pypi-",)),
    (
        r"(?P<v_huggingface_token>hf_(?<![A-Za-z0-9_]hf_)[A-Za-z0-9]{30,})(?![A-Za-z0-9_])",
        False,
        ("hf_",),
    ),
    (
        r"(?P<v_sendgrid_key>SG\.(?<![A-Za-z0-9_]SG\.)[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})"
        r"(?![A-Za-z0-9_\-])",
        False,
        ("sg.",),
    ),
    (
        r"(?P<v_twilio_api_key>SK(?<![A-Za-z0-9_]SK)[0-9a-f]{32})(?![A-Za-z0-9_])",
        False,
        ("sk",),
    ),
    (
        r"(?P<v_age_secret_key>AGE-SECRET-KEY-1[0-9A-Z]{58})(?![A-Za-z0-9])",
        False,
        ("key",),
    ),
    # Azure: storage / Service Bus connection strings and SAS tokens (the signature).
    (r"AccountKey=(?P<v_azure_storage_key>[A-Za-z0-9+/]{30,}={0,2})", False, ("key",)),
    (
        r"SharedAccessKey=(?P<v_azure_shared_access_key>[A-Za-z0-9+/]{30,}={0,2})",
        False,
        ("key",),
    ),
    (r"sig=(?<=[?&;]sig=)(?P<v_azure_sas_token>[A-Za-z0-9%+/=]{20,})", False, ("sig=",)),
    (
        r"(?P<v_digitalocean_token>do[opr]_v1_(?<![A-Za-z0-9_]do[opr]_v1_)[a-f0-9]{64})"
        r"(?![A-Za-z0-9_])",
        False,
        ("_v1_",),
    ),
    # Discord bot tokens: <the bot's id in base64>.<timestamp>.<HMAC>. The id is public and
    # kept; from the first dot on is replaced. The id is base64 of 17 to 19 ASCII digits, so
    # every group of four characters encodes three digits: that shape, not just a length, is
    # required. The regex starts at the dot, a literal (a character class start costs five
    # times as much on text without one), and checks the id behind it.
    (
        rf"\.(?:{_after_id(_DISCORD_ID24)}|{_after_id(_DISCORD_ID23)}|{_after_id(_DISCORD_ID26)})"
        r"(?P<v_discord_bot_token>[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38})(?![A-Za-z0-9_\-])",
        False,
        (".",),
    ),
    (
        r"://(?:[a-z]+\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/"
        r"(?P<v_discord_webhook>[A-Za-z0-9_\-]{60,})",
        False,
        ("://",),
    ),
    (
        r"(?P<v_gcp_oauth_client_secret>GOCSPX-(?<![A-Za-z0-9_]GOCSPX-)[A-Za-z0-9_\-]{28})"
        r"(?![A-Za-z0-9_\-])",
        False,
        ("gocspx-",),
    ),
    # Google OAuth access and refresh tokens (two regexes: each starts with its literal).
    (r"(?P<v_gcp_oauth_token>ya29\.(?<![A-Za-z0-9_]ya29\.)[A-Za-z0-9_\-]{30,})", False, ("ya29.",)),
    (r"(?P<v_gcp_oauth_token>1//0(?<![A-Za-z0-9_/:]1//0)[A-Za-z0-9_\-]{40,})", False, ("1//0",)),
    (
        r"(?P<v_gitlab_token>gl(?<![A-Za-z0-9_]gl)"
        r"(?:pat|dt|rt|ptt|oas|soat|cbt|ft|imt|agent|ffct)-[A-Za-z0-9_\-]{20,}"
        r"(?:\.[A-Za-z0-9_\-]+)*)",
        False,
        ("gl",),
    ),
    # HashiCorp Vault tokens: service (hvs.), batch (hvb.) and recovery (hvr.).
    (
        r"(?P<v_vault_token>hv(?<![A-Za-z0-9_]hv)[sbr]\.[A-Za-z0-9_\-]{24,})(?![A-Za-z0-9_\-])",
        False,
        ("hv",),
    ),
    # Passwords on command lines: `curl -u user:pw`, `docker login -p pw`, `mysql -ppw`.
    (
        rf"curl(?![A-Za-z0-9_]){_SAME_LINE}[ \t](?:-u[ \t]*|--user(?:[ \t]+|=))\\?[\"']?"
        r"(?!\$)[^\s:\"'\\]*:(?P<v_curl_user_password>(?!\$)[^\s\"'\\@]{3,})",
        False,
        ("curl",),
    ),
    (
        rf"docker[ \t]+login(?![A-Za-z0-9_]){_SAME_LINE}[ \t](?:-p|--password)(?:[ \t]+|=)"
        r"\\?[\"']?(?P<v_docker_login_password>(?!\$)[^\s\"'\\]{3,})",
        False,
        ("docker",),
    ),
    (
        rf"(?:mysql|mariadb)[a-z\-]*(?![A-Za-z0-9_]){_SAME_LINE}[ \t](?:-p|--password=)"
        r"\\?[\"']?(?P<v_mysql_password>(?!\$)[^\s\"'\\]{3,})",
        False,
        ("mysql", "mariadb"),
    ),
    # ~/.netrc: `machine host login me password pw`, on one line or several; `machine`
    # starts a line (or a quoted string), so that prose about machines is left alone.
    (
        r"machine(?:(?<![^\n\"'`]machine)|(?<=\\[nrt]machine))[ \t]+[^\s\\:,;]+"
        rf"(?:{_NETRC_GAP}(?:login|account|port)[ \t]+[^\s\\:,;]+)*"
        rf"{_NETRC_GAP}password[ \t]+(?P<v_netrc_password>[^\s\"'\\]+)",
        False,
        ("passw",),
    ),
    (
        r"authorization(?<![a-z0-9_]authorization)\s*:\s*(?:basic|token)\s+"
        r"(?P<v_authorization_header>[a-z0-9+/=._~\-]{8,})",
        True,
        ("authorization",),
    ),
    # Codex 3/4 verbatim; the whole match becomes `Bearer [REDACTED_SECRET]`, as upstream.
    (
        r"(?P<v_bearer_token>bearer(?<![a-z0-9_]bearer)\s+[a-z0-9._\-]{16,}\b)",
        True,
        ("bearer",),
    ),
    # Secret fields, then Codex 4/4 (`api_key|token|secret|password` assignments) verbatim.
    (rf"token(?:{_FIELD}|(?<![a-z0-9_]token)(?![a-z0-9_]){_ASSIGN})", True, ("token",)),
    (rf"secret(?:{_FIELD}|(?<![a-z0-9_]secret)(?![a-z0-9_]){_ASSIGN})", True, ("secret",)),
    (
        rf"passw(?:ord|d)(?:{_FIELD}|(?<=password)(?<![a-z0-9_]password)(?![a-z0-9_]){_ASSIGN})",
        True,
        ("passw",),
    ),
    (rf"passphrase{_FIELD}", True, ("passphrase",)),
    (rf"credentials?{_FIELD}", True, ("credential",)),
    (
        rf"key(?:{_SECRET_KEY_BEFORE}{_FIELD}|{_API_KEY_WORD}(?![a-z0-9_]){_ASSIGN})",
        True,
        ("key",),
    ),
    (rf"TOKEN{_ENV_TAIL}", False, ("token",)),
    (rf"SECRET{_ENV_TAIL}", False, ("secret",)),
    (rf"PASSW(?:ORD|D){_ENV_TAIL}", False, ("passw",)),
    (rf"PASSPHRASE{_ENV_TAIL}", False, ("passphrase",)),
    (rf"CREDENTIALS?{_ENV_TAIL}", False, ("credential",)),
    (rf"KEY(?:(?<=_KEY)|(?<=APIKEY)|(?<![A-Za-z0-9_]KEY)){_ENV_TAIL}", False, ("key",)),
    # `client_secret = "..."`, `db_password: '...'`: a quoted string assigned to a snake_case
    # name ending in secret, password or token, which the whole-word rules above skip. Only
    # quoted values: `reset_token = None` or `_token = get_token()` in code is no secret.
    # The regex starts at the underscore, a literal: with a lookbehind first it was tried at
    # every byte of the text (a quarter of all the redaction time on a long text).
    (
        r"_(?:secret|passw(?:ord|d)|token)(?![a-z0-9_])\s*[:=]\s*\\?(?P<q>[\"'])"
        rf"(?!\$)(?P<v_secret_assignment>{_QUOTED_CHAR}{{8,}})\\?(?P=q)",
        True,
        ("secret", "passw", "token"),
    ),
)

# Patterns whose replacement covers the whole match, not just their v_ group.
_WHOLE_MATCH = {
    "openai_project_key": _R,
    "anthropic_key": _R,
    "openai_key": _R,
    "bearer_token": _BEARER,
}


# The sources write "X starts a word" after the literal X, as `(?<![A-Za-z0-9_]X)`, so each
# regex still starts with its literal. Compiled, that also accepts X right after a
# backslash-n, -r or -t, where X starts a line of a JSON string.
_WORD_START = re.compile(r"\(\?<!\[(A-Za-z0-9_|a-z0-9_)\]([^()]+)\)")


def _json_line_starts(source: str) -> str:
    return _WORD_START.sub(r"(?:\g<0>|(?<=\\\\[nrt]\g<2>))", source)


def _compile(
    source: str, lower: bool, anchors: tuple[str, ...]
) -> tuple[re.Pattern[bytes], tuple[tuple[str, int], ...], bool, tuple[bytes, ...]]:
    rx = re.compile(_json_line_starts(source).encode())
    groups = tuple((name[2:], idx) for name, idx in rx.groupindex.items() if name.startswith("v_"))
    return rx, groups, lower, tuple(a.encode() for a in anchors)


_REGEXES = tuple(_compile(*source) for source in _SOURCES)

PATTERN_NAMES: tuple[str, ...] = tuple(
    dict.fromkeys(name for _rx, groups, _low, _a in _REGEXES for name, _i in groups)
)

# Each literal with the regexes (by index) that need it.
_ANCHORS: tuple[tuple[bytes, tuple[int, ...]], ...] = tuple(
    (a, tuple(i for i, r in enumerate(_REGEXES) if a in r[3]))
    for a in dict.fromkeys(a for r in _REGEXES for a in r[3])
)
_ALL = tuple(range(len(_REGEXES)))

# Up to this length, checking for a regex's literals first is cheaper than running it; on
# long texts each literal check is itself a full scan, as is a run of the regex.
_ANCHOR_CHECK_MAX = 64 * 1024


def _apply(text: str, found: list[str] | None) -> str:
    if len(text) < _MIN_SECRET_LEN:
        return text
    data = text.encode("utf-8", "surrogatepass")
    low = data.lower()
    changed = False
    if len(data) <= _ANCHOR_CHECK_MAX:
        todo: Iterable[int] = sorted({i for a, idx in _ANCHORS if a in low for i in idx})
    else:
        todo = _ALL
    for i in todo:
        rx, groups, lower, _anchors = _REGEXES[i]
        pieces: list[bytes] = []
        last = 0
        for m in rx.finditer(low if lower else data):
            name, idx = next((n, g) for n, g in groups if m.start(g) >= 0)
            start = m.start(idx)
            if name in _WHOLE_MATCH:
                start, end, rep = m.start(), m.end(), _WHOLE_MATCH[name]
            else:
                end, rep = m.end(idx), _R
            if data[start:end] == rep:
                continue  # already redacted: nothing to do and nothing to report
            pieces.append(data[last:start])
            pieces.append(rep)
            last = end
            if found is not None and name not in found:
                found.append(name)
        if pieces:
            pieces.append(data[last:])
            data = b"".join(pieces)
            low = data.lower()
            changed = True
    return data.decode("utf-8", "surrogatepass") if changed else text


def redact(text: str) -> str:
    """``text`` with every secret replaced by ``[REDACTED_SECRET]``; idempotent."""
    return _apply(text, None)


def redact_bytes(data: bytes) -> bytes:
    """``data`` (a file's bytes) redacted as UTF-8 text; bytes that are not UTF-8 come back
    unchanged, so a file that holds no secret comes back byte for byte."""
    text = data.decode("utf-8", "surrogateescape")
    clean = redact(text)
    return data if clean is text else clean.encode("utf-8", "surrogateescape")


# Cut points: before a line that starts with `#` (a Markdown heading, where memory files
# break into blocks), unless the last byte before it that is not blank is `:` or `=`. No match
# and no lookaround of any pattern reaches across such a cut, so a text's redaction is its
# pieces' redactions joined, for any of its pieces taken in order:
# * A match never starts at `#` (each starts with a literal, none with `#`). A negative
#   lookbehind reads at most one byte before its match; the positive ones read two (a
#   backslash before the literal: at a cut that is `\n#`, where they fail, as they do at the
#   start of a piece) or, for the Discord id, base64 letters only: none tells a piece from
#   the whole text.
# * To run on past the newline, a match goes through `\s`, `\r?\n` (a PEM body, a .netrc gap)
#   and then needs a `-----END`, base64 line, header line, `:`, `=`, a quote, `login`,
#   `password` or a token character: `#` is none of those. The one exception is a value
#   after `[:=]\s*` (the assignment rules), which may start with `#`; hence the `:`/`=` rule.
# * No match ends with a newline, and no lookahead reads past one.
# * A replacement ends with `]` and never touches a cut's `\n#`, so the cuts hold for every
#   pattern in turn. tests/unit/test_redact.py checks this on random texts.
_CUT = re.compile(rb"\n#")
_BLANK = frozenset(b" \t\n\r\x0b\x0c")  # what a bytes regex's \s matches


def independent_pieces(data: bytes) -> list[bytes]:
    """``data`` cut where no secret can straddle the cut (above): ``redact_bytes`` of the
    pieces, or of any of them joined in order, equals theirs taken one by one."""
    pieces: list[bytes] = []
    last = 0
    for m in _CUT.finditer(data):
        cut = m.start() + 1
        j = m.start()
        while j >= 0 and data[j] in _BLANK:
            j -= 1
        if j >= 0 and data[j] in b":=":
            continue
        pieces.append(data[last:cut])
        last = cut
    pieces.append(data[last:])
    return pieces


def find_secrets(text: str) -> list[str]:
    """Names of the patterns that redact something in ``text``, in the order they run. A
    value that already reads ``[REDACTED_SECRET]`` does not count."""
    found: list[str] = []
    _apply(text, found)
    return found

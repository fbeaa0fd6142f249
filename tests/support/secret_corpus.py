"""A corpus of planted secrets in the shapes of SPEC §6, and rollouts that carry them.

Each ``Planted`` is a secret value plus the text it hides in (a ``.env`` line, a JSON field, a
curl command, a PEM block ...) and where in a session that text appears: a user message, a tool
call's arguments, a tool output that is an environment dump or a file's contents, an assistant
message, or the session's own metadata (the preview and the git remote URL, which the indexer
stores). ``plant(rollout, ...)`` rewrites a real Codex 0.169 rollout with these as real
response items, copied from the rollout's own lines so they have the exact recorded shape.

The values are made up, built from a seeded generator so that they look like the real thing
(length, alphabet, prefix) and never occur by chance. ``NON_SECRETS`` are values that look
random but are not secrets (git SHAs, UUIDs, a content hash, code with ``*_key`` names): they
must come through redaction untouched."""

from __future__ import annotations

import copy
import json
import os
import random
import sqlite3
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pygit2

from memoryd.demo import example_rollouts
from support.responses_server import ReceivedRequest

ALNUM = string.ascii_letters + string.digits
UPPER_NUM = string.ascii_uppercase + string.digits
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


def _r(seed: str, n: int, alphabet: str = ALNUM) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


@dataclass(frozen=True)
class Planted:
    shape: str  # the SPEC §6 shape (or Codex pattern) it stands for
    value: str  # what must never appear anywhere
    where: str  # user | tool_call | env_dump | file | assistant | meta_preview | meta_git
    text: str  # the text carrying it, as it appears in the session


def _pem(kind: str, seed: str) -> tuple[str, str]:
    """A PEM private-key block and its distinctive first body line."""
    body = [_r(f"{seed}{i}", 64, B64) for i in range(6)]
    block = (
        f"-----BEGIN {kind}PRIVATE KEY-----\n"
        + "\n".join(body)
        + f"\n-----END {kind}PRIVATE KEY-----"
    )
    return block, body[0]


_RSA, _RSA_LINE = _pem("RSA ", "rsa")
_SSH, _SSH_LINE = _pem("OPENSSH ", "ssh")
_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6ImRldiIsImlhdCI6MTUxNjIzOTAyMn0." + _r("jwt", 43, URLSAFE)
)
_V = {
    "openai_proj": "sk-proj-" + _r("proj", 48, URLSAFE),
    "openai_legacy": "sk-" + _r("legacy", 48),
    "openai_svcacct": "sk-svcacct-" + _r("svc", 40, URLSAFE),
    "anthropic": "sk-ant-api03-" + _r("ant", 80, URLSAFE),
    "ghp": "ghp_" + _r("ghp", 36),
    "gho": "gho_" + _r("gho", 36),
    "ghs": "ghs_" + _r("ghs", 36),
    "github_pat": "github_pat_11" + _r("pat1", 20, UPPER_NUM) + "_" + _r("pat2", 59),
    "slack_bot": "xoxb-"
    + "-".join(_r(f"xb{i}", 12, string.digits) for i in range(2))
    + "-"
    + _r("xb", 24),
    "slack_user": "xoxp-"
    + "-".join(_r(f"xp{i}", 12, string.digits) for i in range(3))
    + "-"
    + _r("xp", 32, string.hexdigits.lower()[:16]),
    "google": "AIza" + _r("aiza", 35, URLSAFE),
    "aws_akia": "AKIA" + _r("akia", 16, UPPER_NUM),
    "aws_asia": "ASIA" + _r("asia", 16, UPPER_NUM),
    "aws_secret_file": _r("awssecret1", 40, B64),
    "aws_secret_env": _r("awssecret2", 40, B64),
    "url_password_db": "Pg" + _r("pgpw", 18),
    "url_password_git": "Gt" + _r("gitpw", 18),
    "url_password_redis": "Rd" + _r("redispw", 16),
    "env_db_password": "Db" + _r("dbpw", 20),
    "env_session_secret": _r("sess", 32, string.hexdigits.lower()[:16]),
    "env_quoted_token": _r("qtok", 28),
    "env_service_key": _r("svckey", 30),
    "bearer": _r("bearer", 40, URLSAFE + "."),
    "codex_api_key": _r("apikey", 32),
    "codex_token": _r("tok", 24),
    "codex_password": "Hunter" + _r("pw", 12),
    "json_password": "Js" + _r("jspw", 16),
    "py_secret": "Py" + _r("pysecret", 22),
    "npm": "npm_" + _r("npm", 36),
    "hf": "hf_" + _r("hf", 34),
    "slack_webhook": "T0"
    + _r("t", 8, UPPER_NUM)
    + "/B0"
    + _r("b", 8, UPPER_NUM)
    + "/"
    + _r("hook", 24),
    "stripe": "sk_live_" + _r("stripe", 32),
    "basic_auth": _r("basic", 40, B64) + "==",
    "assistant_echo": "glpat-" + _r("glpat", 20, URLSAFE),
    "preview_token": "sk-proj-" + _r("preview", 48, URLSAFE),
    # issue 14: the shapes that still leaked
    "age": "AGE-SECRET-KEY-1" + _r("age", 58, string.ascii_uppercase + "023456789"),
    "azure_account_key": _r("azacct", 86, B64) + "==",
    "azure_sb_key": _r("azsb", 43, B64) + "=",
    "azure_sas": _r("azsas", 40, B64).replace("+", "%2B").replace("/", "%2F") + "%3D",
    "curl_user": "Cu" + _r("curlpw", 14),
    "do_pat": "dop_v1_" + _r("dop", 64, "0123456789abcdef"),
    "do_oauth": "doo_v1_" + _r("doo", 64, "0123456789abcdef"),
    # <id in base64>.<timestamp>.<HMAC>: what must go is the part after the public id.
    "discord_bot": _r("dts", 6, URLSAFE) + "." + _r("dhmac", 38, URLSAFE),
    "discord_hook": _r("dhook", 68, URLSAFE),
    "docker_pw": "Dk" + _r("dockerpw", 16),
    "gcp_client_secret": "GOCSPX-" + _r("gocspx", 28, URLSAFE),
    "gcp_access": "ya29." + _r("ya29", 120, URLSAFE),
    "gitlab_pat": "glpat-" + _r("glpat2", 20, URLSAFE),
    "gitlab_runner": "glrt-" + _r("glrt", 24, URLSAFE),
    "vault_token": "hvs." + _r("hvs", 91, URLSAFE),
    "mysql_pw": "My" + _r("mysqlpw", 14),
    "netrc_pw": "Nr" + _r("netrcpw", 18),
}
_DISCORD_ID = "MTE4NzY1NDMyMTA5ODc2NTQz"  # base64 of an 18-digit id: public, kept

SECRETS: tuple[Planted, ...] = (
    # user messages
    Planted(
        "sk-proj-",
        _V["openai_proj"],
        "user",
        f"Use my OpenAI key {_V['openai_proj']} for the eval script.",
    ),
    Planted(
        "password in URL",
        _V["url_password_db"],
        "user",
        f"The staging db is postgres://app:{_V['url_password_db']}@db.internal:5432/app",
    ),
    Planted(
        "Codex 4/4 token",
        _V["codex_token"],
        "user",
        f"The CI token: {_V['codex_token']} (rotate it next week)",
    ),
    Planted("ghp_", _V["ghp"], "user", f"push with {_V['ghp']} if ssh fails"),
    # tool calls (command lines)
    Planted(
        "Codex 3/4 Bearer",
        _V["bearer"],
        "tool_call",
        f"curl -H 'Authorization: Bearer {_V['bearer']}' https://api.internal/v1/me",
    ),
    Planted(
        "Basic auth header",
        _V["basic_auth"],
        "tool_call",
        f"curl -H 'Authorization: Basic {_V['basic_auth']}' https://repo.internal/",
    ),
    Planted(
        "sk- (Codex 1/4)",
        _V["openai_legacy"],
        "tool_call",
        f"OPENAI_API_KEY={_V['openai_legacy']} python eval.py",
    ),
    # environment dumps (the output of `env`)
    Planted("sk-ant-", _V["anthropic"], "env_dump", f"ANTHROPIC_API_KEY={_V['anthropic']}"),
    Planted("ASIA", _V["aws_asia"], "env_dump", f"AWS_ACCESS_KEY_ID={_V['aws_asia']}"),
    Planted(
        "aws secret env",
        _V["aws_secret_env"],
        "env_dump",
        f"AWS_SECRET_ACCESS_KEY={_V['aws_secret_env']}",
    ),
    Planted("gho_", _V["gho"], "env_dump", f"GH_TOKEN={_V['gho']}"),
    Planted("ghs_", _V["ghs"], "env_dump", f"GITHUB_APP_INSTALLATION={_V['ghs']}"),
    Planted("xoxb-", _V["slack_bot"], "env_dump", f"SLACK_BOT={_V['slack_bot']}"),
    Planted("hf_", _V["hf"], "env_dump", f"HF_TOKEN={_V['hf']}"),
    Planted(
        ".env secret name",
        _V["env_session_secret"],
        "env_dump",
        f"SESSION_SECRET={_V['env_session_secret']}",
    ),
    Planted(
        "password in URL (redis)",
        _V["url_password_redis"],
        "env_dump",
        f"REDIS_URL=redis://default:{_V['url_password_redis']}@cache:6379/0",
    ),
    Planted("sk-svcacct-", _V["openai_svcacct"], "env_dump", f"EVAL_KEY={_V['openai_svcacct']}"),
    # file contents (cat of config and key files)
    Planted(".env password", _V["env_db_password"], "file", f"DB_PASSWORD={_V['env_db_password']}"),
    Planted(
        ".env quoted token", _V["env_quoted_token"], "file", f'API_TOKEN="{_V["env_quoted_token"]}"'
    ),
    Planted(
        ".env *_KEY", _V["env_service_key"], "file", f"PAYMENTS_SERVICE_KEY={_V['env_service_key']}"
    ),
    Planted("AKIA (Codex 2/4)", _V["aws_akia"], "file", f"aws_access_key_id = {_V['aws_akia']}"),
    Planted(
        "aws secret assignment",
        _V["aws_secret_file"],
        "file",
        f"aws_secret_access_key = {_V['aws_secret_file']}",
    ),
    Planted("PEM RSA", _RSA_LINE, "file", _RSA),
    Planted("PEM OPENSSH", _SSH_LINE, "file", _SSH),
    Planted("JWT", _JWT, "file", f'{{"access_token": "{_JWT}", "expires_in": 3600}}'),
    Planted("Codex 4/4 api_key", _V["codex_api_key"], "file", f"api_key: {_V['codex_api_key']}"),
    Planted(
        "Codex 4/4 password", _V["codex_password"], "file", f"password = {_V['codex_password']}"
    ),
    Planted(
        "JSON password field",
        _V["json_password"],
        "file",
        f'{{"user": "deploy", "password": "{_V["json_password"]}"}}',
    ),
    Planted("secret in code", _V["py_secret"], "file", f'client_secret = "{_V["py_secret"]}"'),
    Planted(
        "github_pat_",
        _V["github_pat"],
        "file",
        f"[credential]\n    helper = store --token {_V['github_pat']}",
    ),
    Planted("npm_", _V["npm"], "file", f"//registry.npmjs.org/:_authToken={_V['npm']}"),
    Planted("AIza", _V["google"], "file", f"const firebaseConfig = {{ apiKey: '{_V['google']}' }}"),
    Planted("xoxp-", _V["slack_user"], "file", f"slack_user_token: {_V['slack_user']}"),
    Planted(
        "Slack webhook",
        _V["slack_webhook"],
        "file",
        f"webhook: https://hooks.slack.com/services/{_V['slack_webhook']}",
    ),
    Planted("sk_live_", _V["stripe"], "file", f"STRIPE_KEY={_V['stripe']}"),
    # issue 14: sixteen shapes that leaked before
    Planted("age secret key", _V["age"], "file", f"# public key: age1xyz\n{_V['age']}"),
    Planted(
        "Azure AccountKey=",
        _V["azure_account_key"],
        "env_dump",
        "AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=acct;"
        f"AccountKey={_V['azure_account_key']};EndpointSuffix=core.windows.net",
    ),
    Planted(
        "Azure SharedAccessKey=",
        _V["azure_sb_key"],
        "file",
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;"
        f"SharedAccessKey={_V['azure_sb_key']}",
    ),
    Planted(
        "Azure SAS token",
        _V["azure_sas"],
        "tool_call",
        "az storage blob download --blob-url 'https://acct.blob.core.windows.net/c/db.bak"
        f"?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-12-01T00:00:00Z&sig={_V['azure_sas']}'",
    ),
    Planted(
        "curl -u user:pass",
        _V["curl_user"],
        "tool_call",
        f"curl -fsS -u admin:{_V['curl_user']} https://jenkins.internal/api/json",
    ),
    Planted("DigitalOcean PAT", _V["do_pat"], "user", f"doctl auth init -t {_V['do_pat']}"),
    Planted("DigitalOcean OAuth", _V["do_oauth"], "env_dump", f"DO_OAUTH={_V['do_oauth']}"),
    Planted(
        "Discord bot token",
        _V["discord_bot"],
        "file",
        f"client.run('{_DISCORD_ID}.{_V['discord_bot']}')",
    ),
    Planted(
        "Discord webhook",
        _V["discord_hook"],
        "file",
        f"notify: https://discord.com/api/webhooks/1187654321098765432/{_V['discord_hook']}",
    ),
    Planted(
        "docker login -p",
        _V["docker_pw"],
        "tool_call",
        f"docker login -u deploy -p {_V['docker_pw']} registry.example.com",
    ),
    Planted(
        "GCP OAuth client secret",
        _V["gcp_client_secret"],
        "file",
        '{"installed":{"client_id":"1234-abc.apps.googleusercontent.com",'
        f'"project_id":"demo","client_secret":"{_V["gcp_client_secret"]}"}}}}',
    ),
    Planted(
        "GCP OAuth access token",
        _V["gcp_access"],
        "tool_call",
        f"curl -H 'x-goog-user-project: demo' 'https://storage.googleapis.com/x?access_token="
        f"{_V['gcp_access']}'",
    ),
    Planted("GitLab PAT", _V["gitlab_pat"], "user", f"clone with {_V['gitlab_pat']} please"),
    Planted(
        "GitLab runner token",
        _V["gitlab_runner"],
        "tool_call",
        f"gitlab-runner register --url https://gitlab.com -t {_V['gitlab_runner']}",
    ),
    Planted(
        "HashiCorp Vault token",
        _V["vault_token"],
        "file",
        "Key                  Value\n---                  -----\n"
        f"token                {_V['vault_token']}"
        "\ntoken_duration       768h\ntoken_renewable      true",
    ),
    Planted(
        "mysql -p",
        _V["mysql_pw"],
        "tool_call",
        f"mysql -h db.internal -u root -p{_V['mysql_pw']} app -e 'select 1'",
    ),
    Planted(
        ".netrc password",
        _V["netrc_pw"],
        "file",
        f"machine api.heroku.com\n  login dev@example.com\n  password {_V['netrc_pw']}",
    ),
    # the assistant repeating one
    Planted(
        ".env token (assistant)",
        _V["assistant_echo"],
        "assistant",
        f"I exported GITLAB_TOKEN={_V['assistant_echo']} for the pipeline run.",
    ),
    # session metadata the indexer stores: the preview and the git remote
    Planted(
        "sk-proj- in the first message",
        _V["preview_token"],
        "meta_preview",
        f"deploy with {_V['preview_token']} please",
    ),
    Planted(
        "password in the git remote URL",
        _V["url_password_git"],
        "meta_git",
        f"https://deploy:{_V['url_password_git']}@git.example.com/team/app.git",
    ),
)

NON_SECRETS: tuple[str, ...] = (
    "9fceb02d0ae598e95dc970b74767f19372d61af8",  # a git commit SHA
    "3b241101-e2bb-4255-8caf-4136c566a962",  # a UUID
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # a sha256
    "sort_key=lambda row: row.created_at",  # code, not a secret assignment
    "primary_key=True",
)
NON_SECRET_TEXT = (
    f"commit {NON_SECRETS[0]}\nrequest id {NON_SECRETS[1]}\nsha256 {NON_SECRETS[2]}\n"
    f"rows.sort({NON_SECRETS[3]})\nid = Column(Integer, {NON_SECRETS[4]})"
)


def _texts(where: str) -> list[str]:
    return [p.text for p in SECRETS if p.where == where]


def _find(lines: list[dict[str, Any]], pred: Any) -> dict[str, Any]:
    return next(o for o in lines if pred(o.get("payload", {})))


def _user_item(p: dict[str, Any]) -> bool:
    return (
        p.get("type") == "message"
        and p.get("role") == "user"
        and not str(p["content"][0].get("text", "")).startswith("<")
    )


def _tool_lines() -> list[dict[str, Any]]:
    """The lines of the bundled real rollout that ran a tool: the shapes of a tool call and
    its output (not every session has one to copy)."""
    for _name, data in example_rollouts():
        if b'"type":"function_call"' in data:
            return [json.loads(x) for x in data.splitlines()]
    raise AssertionError("no bundled rollout ran a tool")


def _with(template: dict[str, Any], **payload: Any) -> dict[str, Any]:
    """A copy of the rollout line ``template`` with these payload fields replaced."""
    obj = copy.deepcopy(template)
    obj["payload"].update(payload)
    return obj


def _message(template: dict[str, Any], text: str) -> dict[str, Any]:
    obj = copy.deepcopy(template)
    obj["payload"]["content"][0]["text"] = text
    return obj


def _tool_turn(
    call: dict[str, Any], output: dict[str, Any], call_id: str, cmd: str, out: str
) -> list[dict[str, Any]]:
    args = json.dumps({"cmd": cmd, "yield_time_ms": 5000})
    return [
        _with(call, arguments=args, call_id=call_id),
        _with(output, call_id=call_id, output=f"Process exited with code 0\nOutput:\n{out}\n"),
    ]


def _plant_metadata(lines: list[dict[str, Any]]) -> None:
    """The preview secret into the first user message (its response item and its event),
    and a git remote URL with a password (beside a real-looking commit SHA)."""
    (preview,) = _texts("meta_preview")
    (remote,) = _texts("meta_git")
    lines[0]["payload"]["git"] = {
        "commit_hash": NON_SECRETS[0],
        "branch": "main",
        "repository_url": remote,
    }
    user = _find(lines, _user_item)["payload"]
    user["content"][0]["text"] += " " + preview
    event = _find(
        lines, lambda p: isinstance(p.get("item"), dict) and p["item"].get("type") == "UserMessage"
    )
    event["payload"]["item"]["content"][0]["text"] += " " + preview


def plant(path: Path, *, first: bool) -> None:
    """Rewrite the rollout at ``path`` (a real Codex 0.169 one) with the corpus: new turns
    whose user messages, tool calls, tool outputs (an ``env`` dump, ``cat`` of config and key
    files, a harmless ``git log``) and assistant message carry it, inserted before the last
    line. With ``first`` the session metadata too. The mtime is kept (the session stays idle)."""
    st = path.stat()
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    user = _find(lines, _user_item)
    assistant = _find(lines, lambda p: p.get("type") == "message" and p.get("role") == "assistant")
    tools = _tool_lines()
    call = _find(tools, lambda p: p.get("type") == "function_call")
    output = _find(tools, lambda p: p.get("type") == "function_call_output")
    new = [_message(user, text) for text in _texts("user")]
    for n, cmd in enumerate(_texts("tool_call")):
        new += _tool_turn(call, output, f"call_planted_cmd_{n}", cmd, "")
    outputs = [
        ("env", "\n".join(_texts("env_dump"))),
        ("cat .env config/* ~/.aws/credentials", "\n".join(_texts("file"))),
        ("git log -1 && uuidgen && sha256sum /dev/null", NON_SECRET_TEXT),
    ]
    for n, (cmd, out) in enumerate(outputs):
        new += _tool_turn(call, output, f"call_planted_out_{n}", cmd, out)
    new += [_message(assistant, text) for text in _texts("assistant")]
    if first:
        _plant_metadata(lines)
    lines[-1:-1] = new
    path.write_text("".join(json.dumps(o, separators=(",", ":")) + "\n" for o in lines))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


# --- searching what memoryd sent and kept ----------------------------------------------------


def what_memoryd_sent(req: ReceivedRequest) -> str:
    """The request body minus the phase-2 model's own tool calls, which the agent loop sends
    back to it as conversation history (they hold what the model wrote, not the user's data)."""
    body = dict(req.json)
    body["input"] = [i for i in body.get("input", []) if i.get("type") != "function_call"]
    return json.dumps(body)


def db_dump(db: Path) -> dict[str, str]:
    """Every row of every table, as text, by table."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: "\n".join(repr(r) for r in con.execute(f'SELECT * FROM "{t}"')) for t in tables}
    finally:
        con.close()


def git_objects(directory: Path) -> Iterator[tuple[str, bytes]]:
    """Every object of every git repository under ``directory`` (bare or not), decompressed."""
    for head in directory.rglob("HEAD"):
        repo_dir = head.parent
        if not (repo_dir / "objects").is_dir():
            continue
        repo = pygit2.Repository(str(repo_dir))
        for oid in repo.odb:
            yield f"{repo_dir}:{oid}", repo.odb.read(oid)[1]


def plain_files(directory: Path) -> Iterator[tuple[str, bytes]]:
    for p in directory.rglob("*"):
        if p.is_file():
            yield str(p), p.read_bytes()


def leaks(blobs: Iterator[tuple[str, bytes]] | list[tuple[str, str]]) -> list[str]:
    found = []
    for name, blob in blobs:
        data = blob if isinstance(blob, bytes) else blob.encode()
        found += [f"{p.shape} in {name}" for p in SECRETS if p.value.encode() in data]
    return found

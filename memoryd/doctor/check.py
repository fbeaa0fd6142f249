"""What every check gives: a stable name, ok / warn / fail, the finding and the fix; and the
test every path that must be the user's alone shares."""

from __future__ import annotations

import os
import stat
from typing import Literal

import msgspec

Status = Literal["ok", "warn", "fail"]


class Check(msgspec.Struct, kw_only=True):
    check: str  # a stable name: scripts match on it
    status: Status
    message: str
    fix: str = ""


def ok(check: str, message: str) -> Check:
    return Check(check=check, status="ok", message=message)


def warn(check: str, message: str, fix: str) -> Check:
    return Check(check=check, status="warn", message=message, fix=fix)


def fail(check: str, message: str, fix: str) -> Check:
    return Check(check=check, status="fail", message=message, fix=fix)


def not_private(st: os.stat_result) -> str | None:
    """Why a path is not private to the current user, or None if it is."""
    if st.st_uid != os.getuid():
        return f"owned by uid {st.st_uid}, not by you (uid {os.getuid()})"
    if st.st_mode & 0o077:
        who = "others" if st.st_mode & 0o007 else "your group"
        return f"readable or writable by {who} (mode {stat.S_IMODE(st.st_mode):04o})"
    return None

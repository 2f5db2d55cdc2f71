"""Which warehouse errors are worth retrying, and how to say what went wrong in one safe line.

Transient: the connection dropped, the server restarted or refused connections for a moment,
SQLite was locked by another writer, a lock or serialisation conflict. Everything else
(credentials, permissions, a missing database, schema errors, bad data) fails the same way on
every attempt, so retrying only delays the alert.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

from cdp_pipeline.privacy import mask_text

# SQLSTATE classes/codes: 08 connection exception, 57P01-03 server shutting down or starting,
# 40001 serialisation failure, 40P01 deadlock, 55P03 lock not available, 53300 too many connections
TRANSIENT_SQLSTATES = ("08", "57P01", "57P02", "57P03", "40001", "40P01", "55P03", "53300")

_PERMANENT_MESSAGES = re.compile(
    r"password authentication failed|authentication failed|permission denied|does not exist|"
    r"no such table|no such column|unable to open database file|role .* is not permitted|"
    r"not a database|malformed|readonly database|read-only",
    re.IGNORECASE,
)
_TRANSIENT_MESSAGES = re.compile(
    r"database is locked|database table is locked|server closed the connection|"
    r"connection (?:refused|reset|timed out|lost|is closed|already closed)|"
    r"terminating connection|could not connect to server|the database system is (?:starting up|shutting down)|"
    r"consuming input failed|SSL SYSCALL error|EOF detected",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@", re.IGNORECASE)
_KEYWORD_PASSWORD = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)
# The server named by a driver's connection error stays readable (the phone mask would eat an
# IP address); nothing else is exempt, so a dotted phone number elsewhere is still masked.
_SERVER_NAME = re.compile(r'(server at "[^"\n]*")')


def is_transient(exc: BaseException) -> bool:
    """True when the same operation may well succeed if simply tried again a little later."""
    from cdp_pipeline.warehouse.publish import PublishLockTimeout

    for error in _chain(exc):
        if isinstance(error, PublishLockTimeout | TransientWarehouseError):
            return True
        if getattr(error, "connection_invalidated", False):
            return True
        if _is_sqlalchemy_disconnect(error):
            return True
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate:
            return sqlstate.startswith(TRANSIENT_SQLSTATES)
        if isinstance(error, sqlite3.OperationalError | ConnectionError | TimeoutError) or _is_psycopg_error(error):
            message = str(error)
            if _PERMANENT_MESSAGES.search(message):
                return False
            return bool(_TRANSIENT_MESSAGES.search(message)) or isinstance(error, ConnectionError | TimeoutError)
    return False


def describe_error(exc: BaseException) -> str:
    """One line, credentials and personal data masked: fit for a log, a UI or an alert."""
    root = next((e for e in _chain(exc) if getattr(e, "orig", None) is None), exc)
    first_line = next((line.strip() for line in str(root).splitlines() if line.strip()), "")
    message = f"{type(root).__name__}: {first_line}" if first_line else type(root).__name__
    message = _URL_PASSWORD.sub(lambda m: m.group("head") + "***@", message)
    message = _KEYWORD_PASSWORD.sub(lambda m: m.group(1) + "***", message)
    parts = _SERVER_NAME.split(message)
    return "".join(part if index % 2 else mask_text(part) for index, part in enumerate(parts))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, the driver error SQLAlchemy wraps (``.orig``), then causes and contexts."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        error = pending.pop(0)
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        pending.extend([getattr(error, "orig", None), error.__cause__, error.__context__])


def _is_sqlalchemy_disconnect(error: BaseException) -> bool:
    from sqlalchemy import exc as sa_exc

    return isinstance(error, sa_exc.DisconnectionError | sa_exc.TimeoutError)


def _is_psycopg_error(error: BaseException) -> bool:
    """A driver error without SQLSTATE (lost or refused connection): judged by its message."""
    import psycopg

    return isinstance(error, psycopg.Error)


class TransientWarehouseError(RuntimeError):
    """A warehouse operation failed for a passing reason; its message is already masked."""

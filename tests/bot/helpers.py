"""Small helpers shared by the bot tests."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from storage.db import Database
from storage.models import AuditLog

BENGALI = re.compile(r"[\u0980-\u09FF]")
LATIN = re.compile(r"[A-Za-z]")


def script_of(text: str) -> str:
    """``bengali`` when Bengali letters outnumber Latin ones, else ``latin`` (or ``none``)."""
    bengali, latin = len(BENGALI.findall(text)), len(LATIN.findall(text))
    if bengali == latin == 0:
        return "none"
    return "bengali" if bengali > latin else "latin"


def audit_count(database: Database, action: str, **where: Any) -> int:
    with database.read() as session:
        query = select(func.count()).select_from(AuditLog).where(AuditLog.action == action)
        for name, value in where.items():
            query = query.where(getattr(AuditLog, name) == value)
        return int(session.scalar(query) or 0)

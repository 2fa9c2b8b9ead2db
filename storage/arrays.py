"""Membership in a list as one fixed statement, whatever the list's length.

``column IN (…)`` with one parameter per value makes a new SQL text for every length of the
list: PostgreSQL parses and plans each anew and psycopg never prepares it, and a long one is
parsed again by psycopg itself at every call. The inbox and the conversation log ask such
questions of a batch of up to 64 chats at every turn, so on PostgreSQL the list travels as
one array parameter (``= ANY(…)``): one SQL text, prepared after a few calls. SQLite keeps
``IN``: it parses in-process, cheaply.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Integer, any_, bindparam
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

__all__ = ["DIALECTS", "dialect_of", "one_of"]

#: The databases uttor runs on.
DIALECTS = ("postgresql", "sqlite")


def dialect_of(session: Session) -> str:
    """The name of the database ``session`` works on (``postgresql`` or ``sqlite``)."""
    return session.get_bind().dialect.name


def one_of(column: Any, name: str, dialect: str) -> ColumnElement[bool]:
    """``column`` is one of the integers bound as ``name`` (a list) at execution."""
    if dialect == "postgresql":
        element = BigInteger() if isinstance(column.type, BigInteger) else Integer()
        return column == any_(bindparam(name, type_=postgresql.ARRAY(element)))
    return column.in_(bindparam(name, expanding=True))

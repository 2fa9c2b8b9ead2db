"""Operator actions shared by the command line and Telegram, returning typed results.

Each action opens its own transactions on the :class:`storage.db.Database` it is given and
raises :class:`operations.errors.Refused` with a one-line reason an operator can act on. The
CLI (``cli/``) and the bot (``bot/operators.py``) only format what comes back.
"""

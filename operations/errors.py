"""The one error operator actions raise for an expected refusal."""

from __future__ import annotations


class Refused(Exception):
    """The action was not done; the message says why, in one line, and what to do instead."""


class Missing(Refused):
    """The thing an operator named does not exist (``kind`` and ``ref`` say which)."""

    def __init__(self, kind: str, ref: object) -> None:
        super().__init__(f"there is no {kind} {ref}")
        self.kind = kind
        self.ref = ref

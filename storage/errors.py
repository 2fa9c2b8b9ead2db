"""Errors the storage layer raises with a message fit to show a person."""


class StorageError(Exception):
    """Base of every expected storage failure."""


class NotFound(StorageError):
    """A referenced row does not exist."""


class InvalidValue(StorageError):
    """A value outside what the schema allows (unknown role, empty text…)."""


class Conflict(StorageError):
    """The change contradicts the current state (promoting a rejected adapter…)."""

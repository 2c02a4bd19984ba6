"""The two ways a model or the store can be wrong; each message says why."""


class ModelError(ValueError):
    """A model that cannot be used: bad metadata, a file that does not load, or the two disagree."""


class StoreError(OSError):
    """The store cannot be read or written; the message says where."""

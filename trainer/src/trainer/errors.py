"""The one error a user sees as one line: bad input, a refused push, weights out of reach."""


class TrainerError(Exception):
    """Something the user can fix; the message says what, in one line."""

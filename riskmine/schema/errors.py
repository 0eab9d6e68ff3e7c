"""The one base of every error riskmine raises on purpose.

Each error has a stable ``code`` (what clients and tests match on), the HTTP ``status`` the API answers
it with, and a message that names the problem and says what to do. The API maps every
:class:`RiskmineError` to a response in one handler (riskmine.api.errors); the CLI prints the message.
Families keep their builtin base too (``ValueError`` for bad input, ``RuntimeError`` for a broken
environment, ``LookupError`` for something missing), so ``except ValueError`` still catches bad input.
"""

from __future__ import annotations


class RiskmineError(Exception):
    """An error a user or a client can hit: a stable code, its HTTP status, a message that says what to do."""

    code: str = "error"
    status: int = 400

"""Errors a report request can hit, each with a stable code and a message that says what to do."""

from __future__ import annotations

from riskmine.schema.errors import RiskmineError


class ReportError(RiskmineError, ValueError):
    """A report cannot be produced as asked; the message names the problem."""

    code = "report_error"
    status = 400


class DraftError(ReportError):
    """An edited monthly draft is malformed; the message names the row and column."""

    code = "invalid_draft"
    status = 422


class NotFoundError(ReportError):
    code = "not_found"
    status = 404


class NotEligibleError(ReportError):
    """The candidate does not call for the report asked (e.g. an immediate report of a watch-tier candidate)."""

    code = "not_eligible"
    status = 409

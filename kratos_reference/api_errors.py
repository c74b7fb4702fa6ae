"""Error objects in Ory's JSON error format (``errorGeneric``: ``{"error": {...}}``), never with ``debug``.

Contract: each builder returns the inner ``error`` object (id?, code, status, reason?, details?, message);
``envelope(error)`` wraps it as ``{"error": ...}``; ``flow_replaced(...)`` builds ``errorFlowReplaced`` and
``flow_expired(...)`` the ``self_service_flow_expired`` document (with expired_at, since in nanoseconds and
use_flow_id beside the error). Status texts and default messages follow Ory's herodot library.
"""

from __future__ import annotations

from typing import Any

ApiError = dict[str, Any]

_DEFAULT_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("Bad Request", "The request was malformed or contained invalid parameters"),
    401: ("Unauthorized", "The request could not be authorized"),
    403: ("Forbidden", "The requested action was forbidden"),
    404: ("Not Found", "The requested resource could not be found"),
    405: ("Method Not Allowed", "The requested method is not allowed for this resource"),
    409: ("Conflict", "The resource could not be created due to a conflict"),
    410: ("Gone", "The requested resource is no longer available because it has expired or is otherwise invalid."),
    413: ("Request Entity Too Large", "The request body is too large"),
    418: ("I'm a teapot", "The server refuses to brew coffee"),
    500: ("Internal Server Error", "An internal server error occurred, please contact the system administrator"),
}


def api_error(code: int, reason: str | None = None, *, error_id: str | None = None,
              details: dict[str, Any] | None = None, message: str | None = None) -> ApiError:
    """A herodot-style error object with the default status text and message of ``code``."""
    status, default_message = _DEFAULT_MESSAGES.get(code, ("Error", "An error occurred"))
    error: ApiError = {}
    if error_id:
        error["id"] = error_id
    error["code"] = code
    error["status"] = status
    if reason:
        error["reason"] = reason
    if details:
        error["details"] = details
    error["message"] = message or default_message
    return error


def envelope(error: ApiError) -> dict[str, Any]:
    """``{"error": error}`` (errorGeneric)."""
    return {"error": error}


def bad_request(reason: str, *, error_id: str | None = None) -> ApiError:
    """400 Bad Request with a reason."""
    return api_error(400, reason, error_id=error_id)


def resource_not_found() -> ApiError:
    """404 as Kratos's storage layer reports an unknown row (no reason)."""
    return api_error(404, message="Unable to locate the resource")


def verification_disabled() -> ApiError:
    """400: verification is switched off."""
    return bad_request("Verification is not allowed because it was disabled.")


def flow_replaced(reason: str, new_flow_id: str | None) -> dict[str, Any]:
    """410 errorFlowReplaced: ``{"error": {id self_service_flow_replaced, ...}, "use_flow_id": ...}``."""
    body: dict[str, Any] = {"error": api_error(410, reason, error_id="self_service_flow_replaced",
                                               message="self-service flow replaced")}
    if new_flow_id is not None:
        body["use_flow_id"] = new_flow_id
    return body


def flow_expired(expired_at: str, since_us: int, new_flow_id: str) -> dict[str, Any]:
    """410 for an expired code: the error, when it expired, how long ago (ns) and the flow to use instead."""
    reason = f"The self-service flow expired {since_us / 60_000_000:.2f} minutes ago, initialize a new one."
    return {"error": api_error(410, reason, error_id="self_service_flow_expired", message="self-service flow expired"),
            "expired_at": expired_at, "since": since_us * 1000, "use_flow_id": new_flow_id}

"""The small exception hierarchy and the registry of every error code.

Each error carries a stable ``code``, a member of :class:`Code`: the one list of codes a
user can meet (an API answer's ``error.code``, an execution's ``error_reason``, a delivery
attempt's error), each with what it means. No code is written as a string elsewhere, so
a typo is a type error and docs/errors.md can be checked against this list. Which HTTP
status an error answers with is the API's business (``api/errors.py``), not the core's.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Code(StrEnum):
    """Every stable error code, with its meaning (``Code.X.meaning``)."""

    meaning: str

    def __new__(cls, value: str, meaning: str) -> Code:
        member = str.__new__(cls, value)
        member._value_ = value
        member.meaning = meaning
        return member

    # The hierarchy's own codes
    ERROR = "ERROR", "an error without a more precise code"
    VALIDATION_FAILED = "VALIDATION_FAILED", "the request is not valid (`details` says where)"
    BAD_REQUEST = "BAD_REQUEST", "the request cannot be understood"
    UNAUTHORIZED = "UNAUTHORIZED", "no valid credentials were given"
    FORBIDDEN = "FORBIDDEN", "the credentials do not allow this"
    NOT_FOUND = "NOT_FOUND", "nothing is served at this path"
    CONFLICT = "CONFLICT", "the request conflicts with what is stored"
    GONE = "GONE", "what was asked for existed but is no more"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE", "the request body is larger than allowed"
    WIDGET_ERROR = "WIDGET_ERROR", "a widget could not run with its configuration and variables"
    WORKER_CRASHED = "WORKER_CRASHED", "the execution crashed or hung every worker that ran it"
    STATE_NOT_STORABLE = (
        "STATE_NOT_STORABLE",
        "the execution's state held a value that cannot be stored (not JSON, or too deep)",
    )
    LEASE_LOST = "LEASE_LOST", "another worker took the execution over (never shown to users)"

    # Requests and text
    MALFORMED_JSON = "MALFORMED_JSON", "the body is not valid JSON"
    MALFORMED_YAML = "MALFORMED_YAML", "the body is not valid YAML"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED", "the path does not serve this HTTP method"
    HTTP_ERROR = "HTTP_ERROR", "another HTTP-level refusal"
    INTERNAL_ERROR = "INTERNAL_ERROR", "an unexpected error (logged on the server)"
    NUL_NOT_ALLOWED = "NUL_NOT_ALLOWED", "text with a NUL character"
    INVALID_TEXT = "INVALID_TEXT", "text with a lone UTF-16 surrogate"
    NESTED_TOO_DEEP = "NESTED_TOO_DEEP", "a document nested deeper than allowed"
    YAML_ALIAS_FORBIDDEN = "YAML_ALIAS_FORBIDDEN", "a YAML flow document with an anchor or alias"
    INVALID_CURSOR = "INVALID_CURSOR", "a page cursor this API did not give"

    # Accounts and access
    INVALID_API_KEY = "INVALID_API_KEY", "unknown API key"
    IP_NOT_WHITELISTED = "IP_NOT_WHITELISTED", "the caller's address is not in the IP whitelist"
    OPERATOR_DISABLED = "OPERATOR_DISABLED", "the operator API is off (no operator token set)"
    INVALID_OPERATOR_TOKEN = "INVALID_OPERATOR_TOKEN", "the operator token is missing or wrong"
    WHITELIST_LOCKOUT = (
        "WHITELIST_LOCKOUT",
        "the new IP whitelist would lock out the address changing it",
    )
    SHORT_DOMAIN_TAKEN = "SHORT_DOMAIN_TAKEN", "another account uses this short domain"
    ACCOUNT_NOT_FOUND = "ACCOUNT_NOT_FOUND", "no such account"

    # Flows and their validation
    FLOW_NOT_FOUND = "FLOW_NOT_FOUND", "no such flow in the account"
    FLOW_VERSION_NOT_FOUND = "FLOW_VERSION_NOT_FOUND", "the flow has no such version"
    FLOW_TOO_LARGE = "FLOW_TOO_LARGE", "the flow's stored JSON would be larger than allowed"
    FLOW_NAME_TAKEN = "FLOW_NAME_TAKEN", "another flow of the account has this name"
    FLOW_IN_USE = "FLOW_IN_USE", "the flow cannot be deleted while executions use it"
    INVALID_FLOW = "INVALID_FLOW", "the flow document is not valid (`details` lists problems)"
    INVALID_VALUE = "INVALID_VALUE", "a field of the flow has a value of the wrong kind"
    MISSING_FIELD = "MISSING_FIELD", "a required field is missing"
    UNKNOWN_FIELD = "UNKNOWN_FIELD", "a field that is not part of the document"
    INVALID_WIDGET_ID = "INVALID_WIDGET_ID", "a widget id with characters other than allowed"
    UNKNOWN_WIDGET_TYPE = "UNKNOWN_WIDGET_TYPE", "no widget of that type"
    UNKNOWN_WIDGET = "UNKNOWN_WIDGET", "an exit or entry names a widget the flow does not have"
    UNKNOWN_EXIT = "UNKNOWN_EXIT", "a widget has no exit of that name"
    UNREACHABLE_WIDGET = "UNREACHABLE_WIDGET", "a widget no entry leads to"

    # Executions and variables
    EXECUTION_NOT_FOUND = "EXECUTION_NOT_FOUND", "no such execution in the account"
    STEP_LIMIT = "STEP_LIMIT", "the execution stopped after the maximum number of steps"
    INVALID_VARIABLE_NAME = "INVALID_VARIABLE_NAME", "a trigger variable's name is not valid"
    INVALID_VARIABLE_VALUE = "INVALID_VARIABLE_VALUE", "a trigger variable's value is not valid"
    READ_ONLY_VARIABLE = "READ_ONLY_VARIABLE", "a widget tried to set a read-only variable"
    INVALID_WEBHOOKS = "INVALID_WEBHOOKS", "the webhooks file of `flowhook run` is not valid"

    # Widgets
    NOT_A_NUMBER = "NOT_A_NUMBER", "an operand or delay is not a number"
    NOT_AN_INTEGER = "NOT_AN_INTEGER", "an operand must be a whole number"
    NUMBER_OUT_OF_RANGE = "NUMBER_OUT_OF_RANGE", "a number is too large to compute with"
    DIVISION_BY_ZERO = "DIVISION_BY_ZERO", "a division by zero"
    NEGATIVE_LENGTH = "NEGATIVE_LENGTH", "a substring length is negative"
    INVALID_DATETIME = "INVALID_DATETIME", "a value is not an ISO-8601 date-time"
    DATETIME_OUT_OF_RANGE = "DATETIME_OUT_OF_RANGE", "a date-time outside the supported years"
    INVALID_FORMAT = "INVALID_FORMAT", "a value is not in the expected format"
    INVALID_REGEX = "INVALID_REGEX", "a decision's regular expression is not valid"
    INVALID_DELAY = "INVALID_DELAY", "a delay is negative or not finite"
    INVALID_CONFIG = "INVALID_CONFIG", "a widget configuration lacks what validation promised"

    # Webhooks, deliveries and outgoing calls
    WEBHOOK_NOT_FOUND = "WEBHOOK_NOT_FOUND", "no such saved webhook in the account"
    WEBHOOK_NAME_TAKEN = "WEBHOOK_NAME_TAKEN", "another webhook of the account has this name"
    WEBHOOK_IN_USE = "WEBHOOK_IN_USE", "a flow's webhook widget targets the webhook"
    WEBHOOK_DISABLED = (
        "WEBHOOK_DISABLED",
        "the delivery is parked: its webhook is disabled until it is enabled again",
    )
    INVALID_WEBHOOK_SECRET = "INVALID_WEBHOOK_SECRET", "a signing secret that is not valid"
    UNKNOWN_SECRET = "UNKNOWN_SECRET", "a `***` credential placeholder with nothing stored"
    BAD_SECRET_KEY = "BAD_SECRET_KEY", "the server's secret key cannot decrypt stored secrets"
    BLOCKED_REQUEST = "BLOCKED_REQUEST", "the request may not be sent (guard or egress policy)"
    MAPPING_FAILED = "MAPPING_FAILED", "the response could not be mapped to variables"
    DELIVERY_NOT_FOUND = "DELIVERY_NOT_FOUND", "no such delivery in the account"
    DELIVERY_IN_FLIGHT = (
        "DELIVERY_IN_FLIGHT",
        "the delivery is still pending: it cannot be replayed",
    )
    CIRCUIT_OPEN = "CIRCUIT_OPEN", "the delivery waits: its endpoint is cooling down"
    HTTP_DISABLED = "HTTP_DISABLED", "plain http:// targets are not allowed"
    BLOCKED_ADDRESS = "BLOCKED_ADDRESS", "the target resolves to a private or reserved address"
    EGRESS_DENIED = "EGRESS_DENIED", "the egress policy does not allow the target"
    INVALID_URL = "INVALID_URL", "a URL that is not valid"
    INVALID_REQUEST = "INVALID_REQUEST", "the request could not be built"
    TIMEOUT = "TIMEOUT", "no answer within the timeout"
    CONNECTION_ERROR = "CONNECTION_ERROR", "the connection could not be made or broke"
    RESPONSE_TOO_LARGE = "RESPONSE_TOO_LARGE", "the response body was larger than allowed"
    INFORMATIONAL = "INFORMATIONAL", "the response status was 1xx"
    REDIRECTION = "REDIRECTION", "the response status was 3xx (redirects are not followed)"
    CLIENT_ERROR = "CLIENT_ERROR", "the response status was 4xx"
    SERVER_ERROR = "SERVER_ERROR", "the response status was 5xx"
    INVALID_RESPONSE = "INVALID_RESPONSE", "the response could not be read"
    TEMPLATE_ERROR = "TEMPLATE_ERROR", "the request's templates could not be rendered"

    # Internal methods, short URLs and agents
    INTERNAL_METHOD_FAILED = "INTERNAL_METHOD_FAILED", "an internal method failed"
    UNKNOWN_METHOD = "UNKNOWN_METHOD", "no internal method of that name"
    INVALID_STAGE = "INVALID_STAGE", "an internal method's stage is not prod or test"
    INVALID_PARAMETERS = "INVALID_PARAMETERS", "a required parameter is missing or not valid"
    ACCOUNT_MISMATCH = "ACCOUNT_MISMATCH", "a parameter names another account"
    INVALID_CONTACT_NUMBER = "INVALID_CONTACT_NUMBER", "not a valid phone number"
    INVALID_TOKEN = "INVALID_TOKEN", "unknown custToken"
    INVALID_EXPIRY = "INVALID_EXPIRY", "a short URL's expiry is not in the future"
    SHORT_URL_NOT_FOUND = "SHORT_URL_NOT_FOUND", "no such short URL"
    SHORT_URL_EXPIRED = "SHORT_URL_EXPIRED", "the short URL has expired"
    REQUEST_NOT_FOUND = "REQUEST_NOT_FOUND", "no such outbound request in the account"
    AGENT_NOT_FOUND = "AGENT_NOT_FOUND", "no such agent"
    AGENT_EXISTS = "AGENT_EXISTS", "the account already has an agent with this CLI"

    # The outbound (OBD) API's refusals, named as its ``api-response-code`` values
    CHECKSUM_REPEATED = "CHECKSUM_REPEATED", "the same request was sent already"
    INVALID_SECURITY_ID = "INVALID_SECURITY_ID", "unknown security id"
    INVALID_API_VERSION = "INVALID_API_VERSION", "the API version is not supported"
    INVALID_MANDATORY_PARAMETERS = (
        "INVALID_MANDATORY_PARAMETERS",
        "a mandatory parameter is missing or not valid",
    )
    INVALID_FLOW_ID = "INVALID_FLOW_ID", "no such flow in the account"
    EMPTY_CALL_LIST = "EMPTY_CALL_LIST", "the request has no calls"
    MAX_DATA_LIST_SIZE_EXCEEDED = "MAX_DATA_LIST_SIZE_EXCEEDED", "the request has too many calls"
    INVALID_FLOW_VERSION = "INVALID_FLOW_VERSION", "the flow has no such version"
    FAILURE = "FAILURE", "the request could not be handled now; retry later"
    CHANNEL_UNAVAILABLE = (
        "CHANNEL_UNAVAILABLE",
        "the account chose a channel adapter that does not exist",
    )
    NO_CALL = "NO_CALL", "the execution has no call for a call widget to act on"
    INVALID_EMAIL_ADDRESS = "INVALID_EMAIL_ADDRESS", "the text is not an e-mail address"
    NO_FLOW_FOR_DID = "NO_FLOW_FOR_DID", "no flow of the account answers the number called"
    CALL_NOT_FOUND = "CALL_NOT_FOUND", "no such call in the account"
    CALL_ENDED = "CALL_ENDED", "the call has ended"
    UNKNOWN_REPORT = "UNKNOWN_REPORT", "the delivery report names no known status"
    MESSAGE_NOT_FOUND = "MESSAGE_NOT_FOUND", "no such SMS or e-mail"
    TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS", "too many tries in a short time; wait and try again"
    CSRF_FAILED = (
        "CSRF_FAILED",
        "the form or request lacks the session's CSRF token (reload the page)",
    )
    USER_EMAIL_TAKEN = "USER_EMAIL_TAKEN", "a user with this e-mail exists already"
    USER_IS_YOU = "USER_IS_YOU", "an admin cannot remove their own user"
    USER_NOT_FOUND = "USER_NOT_FOUND", "no such user in the account"
    ADMIN_REQUIRED = "ADMIN_REQUIRED", "only an admin of the account may do this"
    SIGN_IN_RATE_LIMITED = (
        "SIGN_IN_RATE_LIMITED",
        "too many failed sign-ins: wait before trying again",
    )
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS", "wrong e-mail or password"
    PASSWORD_CHANGE_REQUIRED = (
        "PASSWORD_CHANGE_REQUIRED",
        "the user signed in with a one-time password and must choose a new one first",
    )
    SESSION_REQUIRED = "SESSION_REQUIRED", "sign in to the console first (or the session has ended)"
    HTTP_NOT_ENABLED = "HTTP_NOT_ENABLED", "plain-HTTP URLs are not enabled for the account"
    INVALID_WINDOW = "INVALID_WINDOW", "the time window ends before it starts"
    JOB_NOT_FOUND = "JOB_NOT_FOUND", "no such background job in the account"
    WIDGET_NOT_FOUND = "WIDGET_NOT_FOUND", "the flow has no widget with this id"


def table() -> str:
    """The Markdown table of every code, as docs/errors.md lists them (a test compares)."""
    rows = [f"| `{code.value}` | {code.meaning} |" for code in Code]
    return "\n".join(["| Code | Meaning |", "| --- | --- |", *rows]) + "\n"


class FlowhookError(Exception):
    """Base of every error we raise on purpose."""

    code: Code = Code.ERROR

    def __init__(self, message: str, *, code: Code | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ValidationFailed(FlowhookError):
    code = Code.VALIDATION_FAILED


class BadRequest(FlowhookError):
    code = Code.BAD_REQUEST


class Unauthorized(FlowhookError):
    code = Code.UNAUTHORIZED


class Forbidden(FlowhookError):
    code = Code.FORBIDDEN


class NotFound(FlowhookError):
    code = Code.NOT_FOUND

    @classmethod
    def flow(cls, flow_id: str) -> NotFound:
        """No flow `flow_id` in the caller's account (the same answer whether it does not
        exist or belongs to another account, so ids cannot be probed)."""
        return cls(f"no flow {flow_id}", code=Code.FLOW_NOT_FOUND)


class Conflict(FlowhookError):
    code = Code.CONFLICT


class Gone(FlowhookError):
    """What was asked for existed but is no more (an expired short link)."""

    code = Code.GONE


class PayloadTooLarge(FlowhookError):
    code = Code.PAYLOAD_TOO_LARGE


class WidgetError(FlowhookError):
    """A widget could not run with the configuration and variables it was given."""

    code = Code.WIDGET_ERROR


class WorkerCrashed(FlowhookError):
    """An execution's runs crashed or hung every worker that took it on: it is failed with
    this code instead of being run again (a poison pill must not take the workers down)."""

    code = Code.WORKER_CRASHED


class NulNotAllowed(ValidationFailed):
    """Text with a NUL character: PostgreSQL cannot store it, so no engine accepts it."""

    code = Code.NUL_NOT_ALLOWED


class InvalidText(ValidationFailed):
    """Text with a lone UTF-16 surrogate (``"\\ud800"`` in JSON): not Unicode, not storable."""

    code = Code.INVALID_TEXT


class NestedTooDeep(ValidationFailed):
    """A document nested deeper than a parser may be asked to go."""

    code = Code.NESTED_TOO_DEEP


class YamlAliasForbidden(ValidationFailed):
    """A YAML flow document with an anchor or an alias: an alias repeats a whole sub-tree,
    so a small body could expand to a huge flow."""

    code = Code.YAML_ALIAS_FORBIDDEN


class FlowTooLarge(PayloadTooLarge):
    """A flow whose stored JSON would be larger than ``Settings.flow_max_bytes``."""

    code = Code.FLOW_TOO_LARGE


class StateNotStorable(FlowhookError):
    """An execution's state held a value that could not be stored (not JSON, or nested too
    deep): the execution is failed with this code instead of crashing its worker again."""

    code = Code.STATE_NOT_STORABLE


class TooManyRequests(FlowhookError):
    """Refused for now: too many tries in a short time (failed console sign-ins)."""

    code = Code.TOO_MANY_REQUESTS

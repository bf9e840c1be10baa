"""The OpenAPI 3.1 description of API v1, built from the same constants the code uses."""

from __future__ import annotations

from typing import Any

from survey_app.models import LANGUAGES, RESPONSE_STATUSES, ROLES, SOURCES
from survey_app.questionnaire import (
    CURRENT,
    DOSSIER_MAX_LENGTH,
    INTEGRITY_ANSWERS,
    INTEGRITY_KEY,
    QUESTIONNAIRES,
    RATING_KEYS,
    WISH_CODES,
    WISH_KEY,
)
from survey_app.services.filters import FIRST_YEAR, LAST_YEAR
from survey_app.services.rates import PEER_FACTOR, RATE_FLAGS
from survey_app.services.receipts import MAX_DOSSIERS_PER_CALL
from survey_app.services.responses import RESPONSE_FIELDS
from survey_app.services.seed import ALL_SECTORS
from survey_app.services.volumes import MAX_API_ROWS, MAX_PROBLEMS_SHOWN, MAX_RECEIVED
from survey_app.sipas import ELEMENT_KEYS, Indicator, Status

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema["type"]
    return {**schema, "type": [kind, "null"]}


PERCENT = {"type": "number", "minimum": 0, "maximum": 100}
COUNT = {"type": "integer", "minimum": 0}
RATING = _nullable({"type": "integer", "minimum": 1, "maximum": 5})


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref("Error")}},
    }


def _json_response(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


UNAUTHORIZED = _error_response(
    "Missing, unknown, revoked or expired token, or its owner is disabled."
)
BAD_REQUEST = _error_response(
    "A missing, malformed or reversed date, or another malformed parameter."
)
FORBIDDEN = _error_response("The agency or counter is outside the token owner's scope.")
NOT_FOUND = _error_response("No agency, counter or sector with that code or id.")

# An optional parameter may also be sent empty, as a GET form sends a field left blank:
# the same as leaving it out.
OPTIONAL = {"required": False, "allowEmptyValue": True}

FILTER_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "from",
        "in": "query",
        "required": True,
        "description": "First local day of the period (deployment time zone), included, "
        f"written YYYY-MM-DD, in the years {FIRST_YEAR} to {LAST_YEAR}.",
        "schema": {"type": "string", "format": "date"},
    },
    {
        "name": "to",
        "in": "query",
        "required": True,
        "description": "Last local day of the period, included, written YYYY-MM-DD, in the "
        f"years {FIRST_YEAR} to {LAST_YEAR}. At most ten years after `from`.",
        "schema": {"type": "string", "format": "date"},
    },
    {
        "name": "agency",
        "in": "query",
        **OPTIONAL,
        "description": "Agency code; the agency and every agency below it. Without it, every "
        "agency in the token owner's scope.",
        "schema": {"type": "string"},
    },
    {
        "name": "counter",
        "in": "query",
        **OPTIONAL,
        "description": "Counter id.",
        "schema": {"type": "integer", "minimum": 0},
    },
    {
        "name": "sector",
        "in": "query",
        **OPTIONAL,
        "description": "Sector code, e.g. DAT_DAI.",
        "schema": {"type": "string"},
    },
]

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["status", "message"],
                "properties": {
                    "status": {"type": "integer", "description": "The HTTP status."},
                    "message": {"type": "string"},
                    "title": {"type": "string"},
                    "problems": {
                        "type": "array",
                        "items": {"type": "string"},
                        "maxItems": MAX_PROBLEMS_SHOWN,
                        "description": "A refused load of volumes: each wrong row by its place "
                        f"(`volumes[2]: unknown sector 'X'`), the first {MAX_PROBLEMS_SHOWN}.",
                    },
                    "problem_count": {**COUNT, "description": "How many problems in all."},
                },
            }
        },
    },
    "Me": {
        "type": "object",
        "required": ["email", "name", "role", "agency", "scope"],
        "properties": {
            "email": {"type": "string"},
            "name": {"type": "string"},
            "role": {"type": "string", "enum": [r for r in ROLES if r != "staff"]},
            "agency": {"type": ["string", "null"]},
            "scope": {
                "type": "object",
                "required": ["all_agencies", "agencies"],
                "properties": {
                    "all_agencies": {"type": "boolean"},
                    "agencies": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
    "Share": {
        "type": "object",
        "description": "Satisfied answers among the valid ones, in percent (0..100, unrounded), "
        "with the Wilson 95% interval; null when no answer is valid.",
        "required": ["valid", "satisfied", "share", "ci_low", "ci_high"],
        "properties": {
            "valid": COUNT,
            "satisfied": COUNT,
            "share": _nullable(PERCENT),
            "ci_low": _nullable(PERCENT),
            "ci_high": _nullable(PERCENT),
        },
    },
    "TargetCheck": {
        "type": "object",
        "description": "A verdict on one indicator against its own target: `overall` (O, "
        "satisfaction with how the procedure was settled, question 6) or `sipas_index` (S).",
        "required": ["metric", "threshold", "status", "uncertain"],
        "properties": {
            "metric": {"type": "string", "enum": [i.value for i in Indicator]},
            "threshold": PERCENT,
            "status": {"type": "string", "enum": [s.value for s in Status]},
            "uncertain": {
                "type": "boolean",
                "description": "The 95% interval holds values on both sides of the target.",
            },
            "scope": {
                "type": "string",
                "description": "The code of the target scope whose target judges the figure.",
            },
            "year": {"type": "integer", "description": "The year whose targets were used."},
        },
    },
    "RawFigures": {
        "type": "object",
        "description": "The index and the overall share over every stored response, flagged "
        "and duplicate ones included.",
        "required": ["responses", "sipas_index", "overall"],
        "properties": {
            "responses": COUNT,
            "sipas_index": _nullable(PERCENT),
            "sipas_ci_low": _nullable(PERCENT),
            "sipas_ci_high": _nullable(PERCENT),
            "overall": _ref("Share"),
        },
    },
    "BySource": {
        "type": "object",
        "description": "Counted responses by source: `counter` (the QR at the counter) and "
        "`receipt` (the link on a dossier's receipt), read from the rollups.",
        "required": list(SOURCES),
        "properties": {source: COUNT for source in SOURCES},
        "additionalProperties": False,
    },
    "Weighted": {
        "type": "object",
        "description": "O and S with each sector's figure weighted by its dossiers received "
        "(not by its responses). Shown beside the pooled figures, never judged against a "
        "target.",
        "required": [i.value for i in Indicator],
        "properties": {i.value: _nullable(PERCENT) for i in Indicator},
    },
    "Receipts": {
        "type": "object",
        "description": "Receipt links minted through the API or the command line with an "
        "issue date in the period, and how many of them a counted response answers so far.",
        "required": ["minted", "answered", "rate"],
        "properties": {
            "minted": COUNT,
            "answered": COUNT,
            "rate": {**_nullable(PERCENT), "description": "answered ÷ minted × 100."},
        },
    },
    "Scope": {
        "type": "object",
        "required": [
            "responses", "not_counted", "flagged", "sipas_index", "elements", "overall",
            "integrity", "targets", "raw", "by_status", "by_source", "dossiers",
            "response_rate", "weighted",
        ],
        "properties": {
            "responses": {**COUNT, "description": "Counted responses."},
            "not_counted": {
                **COUNT,
                "description": "Responses stored but not counted (duplicates and flagged).",
            },
            "flagged": {**COUNT, "description": "Responses flagged for review."},
            "duplicate": {**COUNT, "description": "Later responses of a dossier already rated."},
            "by_status": {"type": "object", "additionalProperties": COUNT},
            "sipas_index": {
                **_nullable(PERCENT),
                "description": "Mean of the defined element shares (the questionnaire's elements).",
            },
            "sipas_ci_low": _nullable(PERCENT),
            "sipas_ci_high": _nullable(PERCENT),
            "elements": {
                "type": "object",
                "required": list(ELEMENT_KEYS),
                "properties": {key: _ref("Share") for key in ELEMENT_KEYS},
            },
            "overall": _ref("Share"),
            "integrity": _ref("Share"),
            "wish_respondents": COUNT,
            "wishes": {"type": "object", "additionalProperties": PERCENT},
            "targets": {"type": "array", "items": _ref("TargetCheck")},
            "raw": _ref("RawFigures"),
            "by_source": _ref("BySource"),
            "dossiers": {
                **_nullable(COUNT),
                "description": "Dossiers received, summed over the volumes loaded for the "
                "period, agencies and sectors; null when none is loaded for them (always for "
                "a counter).",
            },
            "response_rate": {
                "type": ["number", "null"],
                "minimum": 0,
                "description": "Counted responses ÷ dossiers × 100, unrounded; null without "
                "dossiers. Above 100 is possible, and a sign to look into.",
            },
            "volumes_complete": {
                "type": "boolean",
                "description": "Every agency, sector and month with counted responses here has "
                "volumes loaded: the rate compares like with like.",
            },
            "rate_flag": {
                "type": ["string", "null"],
                "enum": [*RATE_FLAGS, None],
                "description": "Why the rate needs a review (only where `volumes_complete`): "
                "`above_100`, more responses than dossiers; `far_above_peers`, an agency's "
                f"own rate above {PEER_FACTOR} times the median of the others listed (not "
                "given by this endpoint, which lists no agencies).",
            },
            "weighted": {
                "oneOf": [_ref("Weighted"), {"type": "null"}],
                "description": "Null unless the volumes cover every counted response of the "
                "scope and its sectors received dossiers.",
            },
        },
    },
    "Tallies": {
        "type": "object",
        "required": ["from", "to", "target_year", "min_sample", "scopes", "sectors"],
        "properties": {
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "target_year": {
                "type": ["integer", "null"],
                "description": "The year whose targets judge the period: the year of `to`, or the "
                "latest earlier year with targets.",
            },
            "min_sample": {"type": "integer", "minimum": 1},
            "targets_borrowed": {
                "type": "boolean",
                "description": "The period's own year has no targets: `target_year` is earlier.",
            },
            "scopes": {
                "type": "object",
                "description": "Every target scope by its code: `all`, `LAND`, `CONSTRUCTION`, "
                "`INVESTMENT`, `LAND_CONSTRUCTION_INVESTMENT` and any a deployment adds.",
                "required": [ALL_SECTORS],
                "additionalProperties": _ref("Scope"),
            },
            "sectors": {
                "type": "object",
                "description": "One entry per sector code with at least one counted response.",
                "additionalProperties": _ref("Scope"),
            },
            "sources": {
                "type": "object",
                "description": "The figures of each source over the whole filter, side by "
                "side (not judged against targets).",
                "required": list(SOURCES),
                "properties": {source: _ref("Scope") for source in SOURCES},
            },
            "receipts": {
                "oneOf": [_ref("Receipts"), {"type": "null"}],
                "description": "Null for a counter: receipts belong to an agency and a sector.",
            },
        },
    },
    "Response": {
        "type": "object",
        "required": list(RESPONSE_FIELDS),
        "properties": {
            "id": {"type": "integer"},
            "created_at": {
                "type": "string",
                "format": "date-time",
                "description": "In the deployment time zone, with its offset.",
            },
            "agency": {"type": "string", "description": "Agency code."},
            "counter": {"type": "string", "description": "Counter name."},
            "sector": {"type": "string", "description": "Sector code."},
            "code": {"type": "string", "description": "The survey (QR) code answered through."},
            "source": {
                "type": "string",
                "enum": list(SOURCES),
                "description": "`counter`: the QR at the counter; `receipt`: a receipt link.",
            },
            **{key: RATING for key in RATING_KEYS},
            INTEGRITY_KEY: {"type": ["string", "null"], "enum": [*INTEGRITY_ANSWERS, None]},
            WISH_KEY: {
                "type": "array",
                "maxItems": CURRENT.question(WISH_KEY).max_choices,
                "items": {"type": "string", "enum": list(WISH_CODES)},
            },
            "comment": {
                "type": ["string", "null"],
                "maxLength": 1000,
                "description": "As stored: phone, ID and account numbers and e-mail addresses "
                "are replaced by placeholders such as `[SĐT]` before it is stored.",
            },
            "comment_masked": {
                "type": "boolean",
                "description": "Whether personal data was masked in the comment.",
            },
            "status": {"type": "string", "enum": list(RESPONSE_STATUSES)},
            "reason": {
                "type": ["string", "null"],
                "description": "Why a response is not counted; null when counted.",
            },
            "language": {"type": "string", "enum": list(LANGUAGES)},
            "questionnaire_version": {"type": "string", "enum": list(QUESTIONNAIRES)},
        },
    },
    "ReceiptRequest": {
        "type": "object",
        "required": ["agency", "sector", "dossiers"],
        "additionalProperties": False,
        "properties": {
            "agency": {"type": "string", "description": "Agency code, e.g. XA-CUAVIET."},
            "sector": {"type": "string", "description": "Sector code, e.g. DAT_DAI."},
            "dossiers": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_DOSSIERS_PER_CALL,
                "items": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": DOSSIER_MAX_LENGTH,
                    "description": "A dossier code as printed on its receipt; it needs at "
                    "least one letter or digit.",
                },
            },
        },
    },
    "ReceiptLinks": {
        "type": "object",
        "required": ["links"],
        "properties": {
            "links": {
                "type": "array",
                "description": "One link per dossier, in the order given.",
                "items": {
                    "type": "object",
                    "required": ["dossier", "url"],
                    "properties": {
                        "dossier": {"type": "string", "description": "As it was given."},
                        "url": {
                            "type": "string",
                            "format": "uri",
                            "description": "PUBLIC_BASE_URL/r/ and a 44-character token: "
                            "print it as a QR code on the dossier's receipt.",
                        },
                    },
                },
            },
        },
    },
    "VolumeLoad": {
        "type": "object",
        "required": ["volumes"],
        "additionalProperties": False,
        "properties": {
            "volumes": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_API_ROWS,
                "items": {
                    "type": "object",
                    "required": ["agency", "sector", "date", "received"],
                    "additionalProperties": False,
                    "properties": {
                        "agency": {"type": "string", "minLength": 1,
                                   "description": "Agency code, within the token's scope."},
                        "sector": {"type": "string", "minLength": 1,
                                   "description": "Sector code, e.g. DAT_DAI."},
                        "date": {
                            "type": "string",
                            "pattern": "^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$",
                            "description": "A local day YYYY-MM-DD, or a month YYYY-MM for "
                            "the month's total (stored on its first day, replacing the days "
                            f"of that month), in the years {FIRST_YEAR} to {LAST_YEAR}, not "
                            "in the future.",
                        },
                        "received": {"type": "integer", "minimum": 0,
                                     "maximum": MAX_RECEIVED},
                    },
                },
            }
        },
    },
    "VolumeResult": {
        "type": "object",
        "required": ["rows", "created", "updated", "cleared", "received", "from", "to"],
        "properties": {
            "rows": COUNT,
            "created": {**COUNT, "description": "Agency, sector and day not stored before."},
            "updated": {**COUNT, "description": "Stored before and now replaced."},
            "cleared": {**COUNT, "description": "Days removed because a month's total "
                                                "replaced them."},
            "received": {**COUNT, "description": "The dossiers of the rows, summed."},
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
        },
    },
    "ResponsePage": {
        "type": "object",
        "required": ["items", "next"],
        "properties": {
            "items": {"type": "array", "items": _ref("Response")},
            "next": {
                "type": ["string", "null"],
                "description": "Pass as `cursor` for the next page; null on the last page.",
            },
        },
    },
}  # fmt: skip

PATHS: dict[str, Any] = {
    "/me": {
        "get": {
            "operationId": "me",
            "summary": "The token's owner, role and the agencies within its scope.",
            "responses": {"200": _json_response("The owner.", "Me"), "401": UNAUTHORIZED},
        }
    },
    "/tallies": {
        "get": {
            "operationId": "tallies",
            "summary": "SIPAS-style figures of a period for every target scope and sector.",
            "description": "Only counted responses are scored; `flagged` tells how many were "
            "stored but left out. Scopes are pooled, never averaged.",
            "parameters": FILTER_PARAMETERS,
            "responses": {
                "200": _json_response("The figures.", "Tallies"),
                "400": BAD_REQUEST,
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": NOT_FOUND,
            },
        }
    },
    "/responses": {
        "get": {
            "operationId": "responses",
            "summary": "Every stored response of a period (all statuses), oldest first.",
            "description": "Ordered by id, ascending. Follow `next` until it is null; a "
            "response stored during the walk appears on a later page.",
            "parameters": [
                *FILTER_PARAMETERS,
                {
                    "name": "limit",
                    "in": "query",
                    **OPTIONAL,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                },
                {
                    "name": "cursor",
                    "in": "query",
                    **OPTIONAL,
                    "description": "The `next` value of the previous page (opaque).",
                    "schema": {"type": "string"},
                },
            ],
            "responses": {
                "200": _json_response("One page of responses.", "ResponsePage"),
                "400": BAD_REQUEST,
                "401": UNAUTHORIZED,
                "403": FORBIDDEN,
                "404": NOT_FOUND,
            },
        }
    },
    "/receipts": {
        "post": {
            "operationId": "mintReceipts",
            "summary": "Receipt links, one per dossier, for the receipts of an agency and sector.",
            "description": "Each link opens the survey form for its dossier (without asking "
            "for the dossier code), from the day of the call until RECEIPT_VALID_DAYS later; "
            "a dossier is counted once, whether answered through its link or at a counter. "
            "The links are signed with the agency's newest active receipt key, exactly as "
            "the one-stop system would sign them offline (docs/receipts.md); the same "
            "dossier on the same day gives the same link. The token's owner must have the "
            "agency within their scope.",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("ReceiptRequest")}},
            },
            "responses": {
                "200": _json_response("The links.", "ReceiptLinks"),
                "400": _error_response(
                    "The body is not such an object, or a dossier code is empty or too long."
                ),
                "401": UNAUTHORIZED,
                "403": _error_response("The agency is outside the token owner's scope."),
                "404": _error_response("No agency or sector with that code."),
                "409": _error_response(
                    "The agency has no active receipt key: flask receipts key create."
                ),
                "413": _error_response("The body is larger than the server takes "
                                       "(MAX_CONTENT_LENGTH, 64 KiB by default)."),
            },
        }
    },
    "/volumes": {
        "put": {
            "operationId": "put_volumes",
            "summary": "Load the dossiers each agency received per sector and day (or month).",
            "description": "From the one-stop system's report. Every row is checked first: when "
            "any is wrong, the whole load is refused with every problem and nothing is written. "
            "A row for the same agency, sector and day as a stored one replaces it. Recorded "
            "in the audit log. Needs a token of an admin, or of a manager for the agencies "
            "within their scope.",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("VolumeLoad")}},
            },
            "responses": {
                "200": _json_response("What was written.", "VolumeResult"),
                "400": _error_response("A body that is not the JSON described, or rows that "
                                       "are wrong (each in `problems`)."),
                "401": UNAUTHORIZED,
                "403": _error_response("A row names an agency outside the token owner's "
                                       "scope (each in `problems`)."),
                "413": _error_response("The body is larger than a load of "
                                       f"{MAX_API_ROWS} rows needs."),
            },
        }
    },
    "/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This document.",
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
}


def document() -> dict[str, Any]:
    """Return the OpenAPI document of API v1."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "survey_app API",
            "version": API_VERSION,
            "description": "Citizen-satisfaction figures (SIPAS style) and responses, read "
            "with a personal token within its owner's scope, and receipt links minted for "
            "the agencies in it. Percentages are 0..100, unrounded.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal token: flask tokens create <email>.",
                }
            },
        },
    }

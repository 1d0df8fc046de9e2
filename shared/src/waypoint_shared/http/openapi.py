"""Every error an operation can answer, declared once for all three services' OpenAPI documents,
and every operation named.

The services answer every error as RFC 9457 problem+json (a FHIR OperationOutcome under /fhir,
`problems.py`). Views declare only the errors of their own rules (404, 409, 422 …); this apispec
plugin adds the statuses the shared edge answers for any operation (a missing or weak token, the
rate limit, a body too large or not JSON, a malformed header), and gives every error response of
every operation the one problem schema and its media type, so the document matches the wire.
It also names each operation after its view function (`operationId`, unique in the document), the
name a client generated from the document gives the call.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from apispec import APISpec, BasePlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask_smorest import Api
from marshmallow import INCLUDE, Schema, fields

from waypoint_shared.http.idempotency import (
    HEADER,
    IF_MATCH_PATTERN,
    MAX_KEY_LENGTH,
    MIN_KEY_LENGTH,
)
from waypoint_shared.http.problems import FHIR_JSON, PROBLEM_JSON

WRITES = ("post", "put", "patch", "delete")
# FHIR search parameters taken in place of another (left out of the documents, which list the
# other as required, and of the CapabilityStatements).
SEARCH_ALIASES = {"subject": "patient"}
# Answered by the shared edge whatever the operation: malformed header (If-Match, Idempotency-Key),
# no or bad token, a token without the scope, the rate limit.
ANY_OPERATION = (400, 401, 403, 429)
# Answered for any write: a stale or malformed version, a body too large, a body that is not JSON,
# one that does not validate.
ANY_WRITE = (409, 412, 413, 415, 422)
# Answered for any operation on a resource named in the path: unknown, or its client erased.
ANY_RESOURCE = (404, 410)
# The headers every write honours.
WRITE_HEADERS = (
    {
        "name": HEADER,
        "in": "header",
        "required": False,
        "description": "Makes a retry safe: the same key with the same body answers the first "
        "answer again and records nothing more; with another body, 422.",
        "schema": {"type": "string", "minLength": MIN_KEY_LENGTH, "maxLength": MAX_KEY_LENGTH},
    },
    {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": 'The version last read, as its ETag (such as "3"): a write to a record '
        "changed since is refused with 412.",
        "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
    },
)
OPERATION_OUTCOME = {
    "type": "object",
    "description": "A FHIR R4 OperationOutcome: how errors are answered under /fhir.",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"type": "string", "const": "OperationOutcome"},
        "issue": {"type": "array", "items": {"type": "object"}},
    },
}


class ProblemSchema(Schema):
    """RFC 9457 problem details; its extension members (`errors`, `allowed_actions` …) name
    what was wrong, so others than those listed may come."""

    class Meta:
        unknown = INCLUDE

    type = fields.String()
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict(metadata={"description": "messages by field (422)"})
    missing = fields.List(fields.String(), metadata={"description": "unmet requirements"})
    client_id = fields.UUID(metadata={"description": "409: the client already referred; 410"})
    location = fields.String(metadata={"description": "409: where that client is"})
    current_version = fields.Integer(
        allow_none=True, metadata={"description": "409/412: the version the record is at now"}
    )


class ProblemApi(Api):
    """flask-smorest's Api with the problem schema as its error schema: its own `Error` schema
    names a shape no service answers, and would be published beside `Problem`."""

    ERROR_SCHEMA = ProblemSchema


class ProblemResponses(BasePlugin):
    """Declares every error of every operation as problem+json (OperationOutcome under /fhir),
    and names every operation."""

    def init_spec(self, spec: APISpec) -> None:
        super().init_spec(spec)
        spec.components.schema("Problem", schema=ProblemSchema)
        spec.components.schema("OperationOutcome", OPERATION_OUTCOME)
        self.operation_ids: set[str] = set()

    def operation_helper(
        self,
        path: str | None = None,
        operations: dict[str, Any] | None = None,
        rule: Any = None,
        **_: Any,
    ) -> None:
        for method, operation in (operations or {}).items():
            if rule is not None:
                self.name(operation, rule.endpoint)
            fhir = (path or "").startswith("/fhir")
            responses = by_status(operation.get("responses", {}))
            for status in statuses_of(path or "", method):
                responses.setdefault(str(status), {})
            for code, response in list(responses.items()):
                if code == "default" or int(code) >= 400:
                    responses[code] = error_response(code, response, fhir)
            operation["responses"] = responses
            if method.lower() in WRITES:
                declare_write_headers(operation)
            if fhir:
                leave_out_aliases(operation)

    def name(self, operation: dict[str, Any], endpoint: str) -> None:
        """The operation's id: one a view declares (`blp.doc(operationId=…)`), else the view
        function's name (each view serves one method); two operations of one name are refused."""
        operation_id = operation.setdefault("operationId", endpoint.rsplit(".", 1)[-1])
        if operation_id in self.operation_ids:
            raise ValueError(f"two operations are named {operation_id!r}; rename one view")
        self.operation_ids.add(operation_id)


class SchemaKeywords(BasePlugin):
    """Adds what a schema states of its object as a whole, beyond its fields, to its component:
    the JSON Schema keywords in its `Meta.json_schema` (`minProperties`, `oneOf`, `anyOf` …)."""

    def schema_helper(self, name: str, definition: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        schema = kwargs.get("schema")
        if schema is None:
            return {}
        found = resolve_schema_cls(schema)
        classes = found if isinstance(found, list) else [found]
        return {k: v for c in classes for k, v in getattr(c.Meta, "json_schema", {}).items()}


def leave_out_aliases(operation: dict[str, Any]) -> None:
    """A FHIR search takes its client as `patient` or as `subject`, FHIR's two names of one
    parameter; OpenAPI cannot state "one of two parameters", so the document lists `patient`
    alone, as required, and says in its description that `subject` may stand for it."""
    parameters = operation.get("parameters", [])
    named = {p.get("name") for p in parameters}
    aliases = {alias for alias, name in SEARCH_ALIASES.items() if name in named}
    operation["parameters"] = [p for p in parameters if p.get("name") not in aliases]


def declare_write_headers(operation: dict[str, Any]) -> None:
    parameters = operation.setdefault("parameters", [])
    named = {p.get("name", "").lower() for p in parameters if isinstance(p, dict)}
    parameters += [h for h in WRITE_HEADERS if str(h["name"]).lower() not in named]


def by_status(declared: dict[Any, Any]) -> dict[str, Any]:
    """The declared responses keyed by status as text: a view's own (`alt_response`, with its
    description) wins over the one flask-smorest adds by name for the same status."""
    responses: dict[str, Any] = {}
    for code, response in declared.items():
        if str(code) not in responses or (
            isinstance(response, dict) and response.get("description")
        ):
            responses[str(code)] = response
    return responses


def statuses_of(path: str, method: str) -> tuple[int, ...]:
    """The error statuses the shared edge may answer for one operation."""
    statuses: tuple[int, ...] = ANY_OPERATION
    if method.lower() in WRITES:
        statuses += ANY_WRITE
    if "{" in path:
        statuses += ANY_RESOURCE
    if not path.startswith("/fhir") and path.startswith("/v1"):
        statuses += (422,)  # a query parameter it does not know or cannot read
    return statuses


def error_response(code: str, declared: Any, fhir: bool) -> dict[str, Any]:
    """One error response: its description kept, its content the problem schema."""
    description = declared.get("description") if isinstance(declared, dict) else None
    if not description:
        description = "Any other error" if code == "default" else HTTPStatus(int(code)).phrase
    media, schema = (FHIR_JSON, "OperationOutcome") if fhir else (PROBLEM_JSON, "Problem")
    content = {media: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
    headers = declared.get("headers") if isinstance(declared, dict) else None
    return {
        "description": description,
        "content": content,
        **({"headers": headers} if headers else {}),
    }


def fhir_answer(resource_type: str, description: str) -> dict[str, Any]:
    """The responses declaration (`blp.doc(responses=…)`) of a 200 answering one FHIR R4
    resource: its type is stated here, HL7's definitions state the rest."""
    resource = {"type": "string", "const": resource_type}
    schema = {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": resource},
    }
    return {"200": {"description": description, "content": {FHIR_JSON: {"schema": schema}}}}

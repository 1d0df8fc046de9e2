"""FHIR R4 the one way for all three bases: absolute references, searchset Bundles with paging,
the search parameters every search shares, and the CapabilityStatement built from the routes.

Every reference and `fullUrl` is absolute, built from the configured public base URLs (never the
Host header): a Patient is always intake's, anything else this service's unless a service is named.
A search ignores parameters it does not know (and `_format=json`) unless the request says
`Prefer: handling=strict`, then it answers 400 naming them. `_count` (default 50, at most 500)
and `_offset` page through the matches; the Bundle's `next` link asks for the following page.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from flask import Response, current_app, request
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from waypoint_shared.http import audit, ranges
from waypoint_shared.http.auth import requires
from waypoint_shared.http.openapi import SEARCH_ALIASES, fhir_answer
from waypoint_shared.http.problems import FHIR_JSON, Problem
from waypoint_shared.http.web import public_url

FHIR_VERSION = "4.0.1"
DEFAULT_COUNT, MAX_COUNT = 50, 500
STRICT = "handling=strict"
JSON_FORMATS = ["json", "application/json", FHIR_JSON]  # `_format` values answered
UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# A server's base, as a URL: a scheme, a host and path segments of URL characters.
SERVER_BASE = r"https?://[A-Za-z0-9.:\[\]-]+(?:/[A-Za-z0-9._~-]+)*"
# The client id, `Patient/<id>` or a Patient's URL: groups 1 (the base) and 2 (the id).
PATIENT_PATTERN = rf"^(?:({SERVER_BASE})/fhir/)?(?:Patient/)?({UUID})$"
PATIENT_REFERENCE = re.compile(PATIENT_PATTERN, re.ASCII)
# FHIR ids (letters, digits, `-` and `.`, at most 64), several separated by commas.
FHIR_ID = r"[A-Za-z0-9.-]{1,64}"
IDS_PATTERN = rf"^{FHIR_ID}(?:,{FHIR_ID})*$"
# A token: printable ASCII, no spaces (`code`, `system|code`), several separated by commas.
TOKEN_PATTERN = r"^[!-~]+$"
DATE_PREFIXES = ("eq", "ne", "lt", "le", "gt", "ge")
FHIR_OFFSET = r"(?:Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
# A date search value: [prefix] then a year, a month, a day, or a day and a time (its seconds,
# fraction and offset optional; without an offset, UTC), in the years 1900..2100 of every date
# the services keep. Only what is a real moment matches.
DATE_PATTERN = (
    rf"^(?:{'|'.join(DATE_PREFIXES)})?"
    rf"(?:{ranges.CLINICAL_YEARS}(?:-(?:0[1-9]|1[0-2]))?"
    rf"|{ranges.calendar_date(ranges.CLINICAL_YEARS, ranges.CLINICAL_LEAP_YEARS)}"
    rf"(?:T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{{1,9}})?)?{FHIR_OFFSET}?)?)$"
)
_DATE = re.compile(
    r"^(?P<year>[0-9]{4})(?:-(?P<month>[0-9]{2})(?:-(?P<day>[0-9]{2})"
    r"(?:T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:\.[0-9]+)?)?"
    r"(?P<zone>Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?$"
)
DATE_VALUES = 2  # at most: a range is two bounds
PREFIXES = ", ".join(DATE_PREFIXES)
PATIENT_REFUSAL = "Send the client id, Patient/<id> or the Patient's URL."
# Where a resource type keeps what its date search parameter searches (FHIR R4's definitions).
DATE_PATHS = {
    ("Observation", "date"): "effectiveDateTime",
    ("Consent", "date"): "dateTime",
    ("EpisodeOfCare", "date"): "period",
    ("CarePlan", "date"): "period",
    ("QuestionnaireResponse", "authored"): "authored",
}
F = TypeVar("F", bound=Callable[..., Any])


# ---- references and answers --------------------------------------------------------------------


def base(service: str | None = None) -> str:
    """A FHIR base: this service's, or the named service's (from its configured public URL)."""
    if service is None:
        return public_url("/fhir")
    return f"{current_app.config['WAYPOINT_PUBLIC_URLS'][service]}/fhir"


def reference(resource_type: str, resource_id: str, service: str | None = None) -> dict[str, str]:
    """An absolute reference: a Patient at intake's base, anything else at this service's (or at
    the named service's)."""
    owner = "intake" if resource_type == "Patient" else service
    return {"reference": f"{base(owner)}/{resource_type}/{resource_id}"}


def full_url(resource: Mapping[str, Any]) -> str:
    return f"{base()}/{resource['resourceType']}/{resource['id']}"


def recorded(resource: dict[str, Any], when: datetime) -> dict[str, Any]:
    """The resource with `meta.lastUpdated`: when what it shows was recorded."""
    moment = when if when.tzinfo else when.replace(tzinfo=UTC)
    resource["meta"] = {**resource.get("meta", {}), "lastUpdated": moment.isoformat()}
    return resource


def answer(body: Mapping[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype=FHIR_JSON)


def not_found(resource_type: str, resource_id: str) -> Problem:
    """The one answer for an id this tenant does not have (unknown, or another tenant's)."""
    return Problem(404, "Not Found", f"There is no {resource_type} {resource_id} here.")


# ---- search parameters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """The time a FHIR date, dateTime or instant stands for at its precision: [start, end)."""

    start: datetime
    end: datetime


def span(text: str) -> Span:
    """The span of a FHIR date/dateTime (a time without a zone is taken as UTC)."""
    found = _DATE.match(text)
    if not found:
        raise ValueError(f"{text!r} is not a FHIR date or dateTime")
    parts = {k: int(v) for k, v in found.groupdict().items() if v and k != "zone"}
    zone = _zone(found["zone"])
    start = datetime(
        parts["year"],
        parts.get("month", 1),
        parts.get("day", 1),
        parts.get("hour", 0),
        parts.get("minute", 0),
        parts.get("second", 0),
        tzinfo=zone,
    )
    return Span(start, _after(start, found))


def _zone(text: str | None) -> Any:
    if not text or text == "Z":
        return UTC
    return datetime.fromisoformat(f"2000-01-01T00:00:00{text}").tzinfo


def _after(start: datetime, found: re.Match[str]) -> datetime:
    if found["second"]:
        return start + timedelta(seconds=1)
    if found["minute"]:
        return start + timedelta(minutes=1)
    if found["day"]:
        return start + timedelta(days=1)
    if found["month"]:
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start.replace(year=start.year + 1)


def span_of(value: Any) -> Span | None:
    """The span of a resource's date, dateTime or Period (an open end runs on forever)."""
    if isinstance(value, str):
        return span(value)
    if isinstance(value, Mapping) and (value.get("start") or value.get("end")):
        start = (
            span(value["start"]).start if value.get("start") else datetime.min.replace(tzinfo=UTC)
        )
        end = span(value["end"]).end if value.get("end") else datetime.max.replace(tzinfo=UTC)
        return Span(start, end)
    return None


@dataclass(frozen=True)
class DateBound:
    """One value of a date search parameter: a prefix (eq by default) and a span."""

    prefix: str
    value: Span

    def admits(self, target: Span | None) -> bool:
        if target is None:
            return False
        v = self.value
        if self.prefix == "eq":
            return v.start <= target.start and target.end <= v.end
        if self.prefix == "ne":
            return not (v.start <= target.start and target.end <= v.end)
        return {
            "lt": target.start < v.start,
            "le": target.start < v.end,
            "gt": target.end > v.end,
            "ge": target.end > v.start,
        }[self.prefix]


@dataclass(frozen=True)
class Token:
    """A token search value: `code`, `system|code`, `|code` (no system) or `system|`."""

    system: str | None
    code: str | None

    def matches(self, coding: Mapping[str, Any]) -> bool:
        system_ok = self.system is None or (coding.get("system") or "") == self.system
        return system_ok and (not self.code or coding.get("code") == self.code)


def _text(field: fields.String, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
    """The value as text, no longer than the field's documented maxLength and matching its
    documented pattern."""
    text = str(fields.String._deserialize(field, value, attr, data, **kwargs))
    if len(text) > field.metadata.get("maxLength", len(text)):
        raise ValidationError(f"Longer than {field.metadata['maxLength']} characters.")
    if not re.fullmatch(field.metadata.get("pattern", ".*"), text, re.ASCII | re.DOTALL):
        raise ValidationError(field.metadata.get("refusal", "Not in the documented form."))
    return text


class DateParam(fields.String):
    """A FHIR date search value, `[prefix]date` (prefixes eq, ne, lt, le, gt, ge)."""

    # Loads as a DateBound, not the text: webargs hands the view what the field makes of it.
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> DateBound:  # type: ignore[override]
        text = _text(self, value, attr, data, **kwargs)
        prefix = text[:2] if text[:2] in DATE_PREFIXES else "eq"
        return DateBound(prefix, span(text.removeprefix(prefix)))


class TokenParam(fields.String):
    """A FHIR token search value; several, separated by commas, match any of them."""

    # Loads as the tokens, not the text.
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[Token]:  # type: ignore[override]
        text = _text(self, value, attr, data, **kwargs)
        tokens = []
        for part in text.split(","):
            system, bar, code = part.rpartition("|")
            tokens.append(Token(system if bar else None, code or None))
        return tokens


class PatientParam(fields.String):
    """A Patient reference: the client id, `Patient/<id>` or intake's absolute URL of it. Loads
    as the client id, or "" for a Patient of another server (which matches nothing)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        found = PATIENT_REFERENCE.fullmatch(_text(self, value, attr, data, **kwargs))
        if not found:
            raise ValidationError(PATIENT_REFUSAL)
        server, client_id = found.groups()
        if server and f"{server}/fhir" != base("intake"):
            return ""
        return str(client_id).lower()


def date_param(description: str, data_key: str | None = None) -> fields.List[str]:
    """A date parameter, `[prefix]date`; repeated, every value must hold (a range)."""
    refusal = (
        "Not a FHIR date in the years 1900..2100: [prefix]YYYY[-MM[-DD[Thh:mm[:ss][zone]]]];"
        f" prefixes: {PREFIXES}."
    )
    item = DateParam(metadata={"pattern": DATE_PATTERN, "maxLength": 64, "refusal": refusal})
    metadata = {"description": description, "fhir_type": "date"}
    most = validate.Length(max=DATE_VALUES, error=f"At most {DATE_VALUES} values.")
    return fields.List(item, data_key=data_key, validate=most, metadata=metadata)


def patient_param(
    description: str = "The client: their id, Patient/<id> or URL (`subject`, FHIR's other name"
    " of it, is taken in its place; this document lists `patient` alone)",
    required: bool = False,
) -> PatientParam:
    metadata: dict[str, Any] = {"description": description, "fhir_type": "reference"}
    metadata |= {"pattern": PATIENT_PATTERN, "maxLength": 200, "refusal": PATIENT_REFUSAL}
    refused: dict[str, Any] = {"required": "Name the patient (the client id)."}
    return PatientParam(required=required, error_messages=refused, metadata=metadata)


def token_param(description: str) -> TokenParam:
    """A token parameter: `code`, `system|code`, several separated by commas."""
    metadata = {"description": description, "fhir_type": "token", "maxLength": 256}
    refusal = "Not a token: printable ASCII without spaces (`code`, `system|code`)."
    return TokenParam(metadata={**metadata, "pattern": TOKEN_PATTERN, "refusal": refusal})


class SearchSchema(Schema):
    """The parameters of every search: `_id`, `_lastUpdated`, and the result parameters `_count`,
    `_offset` and `_format`. A search's own parameters are declared by subclasses with the
    metadata `fhir_type`; what no field declares is ignored (or refused, under strict handling)."""

    class Meta:
        unknown = EXCLUDE

    ids = fields.String(
        data_key="_id",
        validate=[
            validate.Length(max=640),
            validate.Regexp(IDS_PATTERN, re.ASCII, error="Not FHIR ids separated by commas."),
        ],
        metadata={
            "description": "Resource ids, separated by commas (an id naming nothing finds nothing)",
            "fhir_type": "token",
        },
    )
    last_updated = date_param(
        "When the resource was recorded: [eq|ne|lt|le|gt|ge]date; repeat it for a range",
        data_key="_lastUpdated",
    )
    count = fields.Integer(
        data_key="_count",
        validate=validate.Range(min=0),
        metadata={
            "description": f"Matches per page (default {DEFAULT_COUNT}, at most {MAX_COUNT})"
        },
    )
    offset = fields.Integer(
        data_key="_offset",
        validate=validate.Range(min=0),
        metadata={"description": "How many matches to skip: the `next` link sets it"},
    )
    format = fields.String(
        data_key="_format",
        validate=validate.OneOf(JSON_FORMATS),
        metadata={"description": "Only JSON is answered"},
    )


class PatientSearchSchema(SearchSchema):
    """A search of one patient's resources, named by `patient` (required: the document says so)
    or by `subject`, which stands for it when `patient` is not sent."""

    patient = patient_param(required=True)

    @pre_load
    def _subject_stands_for_patient(self, data: Mapping[str, Any], **_: Any) -> Mapping[str, Any]:
        if "patient" in data or "subject" not in data:
            return data
        return {**{key: data[key] for key in data}, "patient": data["subject"]}  # SEARCH_ALIASES

    @staticmethod
    def client_of(query: Mapping[str, Any]) -> str:
        """The client searched; "" (nothing matches) if `patient` and `subject` disagree."""
        named = {query[k] for k in ("patient", "subject") if k in query}
        return named.pop() if len(named) == 1 else ""


def searched_patient(query: Mapping[str, Any]) -> str:
    """The client a patient search names, noted in the audit of reads."""
    client_id = PatientSearchSchema.client_of(query)
    if client_id:
        audit.reads(client_id)
    return client_id


# ---- searchset Bundles ---------------------------------------------------------------------------


def matches(resource: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    """Whether a resource meets the shared parameters: `_id`, `_lastUpdated`, `code` and the date
    parameter of its type."""
    kind = resource["resourceType"]
    if "ids" in query and resource["id"] not in query["ids"].split(","):
        return False
    updated = (resource.get("meta") or {}).get("lastUpdated")
    if not _within(query.get("last_updated"), span(updated) if updated else None):
        return False
    for (of_type, name), path in DATE_PATHS.items():
        if of_type == kind and not _within(query.get(name), span_of(resource.get(path))):
            return False
    concept = resource.get("code")  # a CodeableConcept (a definition's `code` is not one)
    codings = concept.get("coding") or [] if isinstance(concept, Mapping) else []
    return "code" not in query or any(t.matches(c) for t in query["code"] for c in codings)


def _within(bounds: Iterable[DateBound] | None, target: Span | None) -> bool:
    return all(bound.admits(target) for bound in bounds or ())


Included = Callable[[Mapping[str, Any]], list[dict[str, Any]]]


def searchset(
    resources: Iterable[dict[str, Any]],
    query: Mapping[str, Any],
    included: Included | None = None,
) -> dict[str, Any]:
    """A page of the resources that match the query, as a searchset Bundle: `total` counts every
    match, `link` has `self` and, when more match, `next`; `included` resources of each match on
    the page follow as `include` entries."""
    found = [r for r in resources if matches(r, query)]
    count, offset = min(query.get("count", DEFAULT_COUNT), MAX_COUNT), query.get("offset", 0)
    page = found[offset : offset + count]
    entries = [_entry(r, "match") for r in page]
    entries += [_entry(i, "include") for r in page for i in (included(r) if included else [])]
    links = [{"relation": "self", "url": _page_url(offset, count)}]
    if offset + count < len(found):
        links.append({"relation": "next", "url": _page_url(offset + count, count)})
    bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(found), "link": links}
    return {**bundle, "entry": entries} if entries else bundle


def _entry(resource: dict[str, Any], mode: str) -> dict[str, Any]:
    return {"fullUrl": full_url(resource), "resource": resource, "search": {"mode": mode}}


def _page_url(offset: int, count: int) -> str:
    kept = [(k, v) for k, v in request.args.items(multi=True) if k not in ("_offset", "_count")]
    paging = [("_count", str(count))] + ([("_offset", str(offset))] if offset else [])
    return public_url(f"{request.path}?{urlencode(kept + paging)}")


def refuse_unknown_when_strict(known: Iterable[str]) -> None:
    """Under `Prefer: handling=strict`, a parameter the search does not know is a 400 naming it."""
    prefer = request.headers.get("Prefer", "")
    if not any(p.strip().lower() == STRICT for p in re.split("[,;]", prefer)):
        return
    unknown = sorted(set(request.args) - set(known))
    if unknown:
        errors = {name: ["not a search parameter of this resource"] for name in unknown}
        raise Problem(
            400, "Bad Request", f"Unknown search parameters: {', '.join(unknown)}.", errors=errors
        )


# ---- the routes and the CapabilityStatement ------------------------------------------------------


class MetadataSchema(Schema):
    """What `GET /fhir/metadata` takes: the full statement, in JSON."""

    class Meta:
        unknown = EXCLUDE

    mode = fields.String(
        validate=validate.OneOf(["full"]), metadata={"description": "Only the full statement"}
    )
    format = fields.String(
        data_key="_format",
        validate=validate.OneOf(JSON_FORMATS),
        metadata={"description": "Only JSON is answered"},
    )


STARTED = date.today()  # the statement's date: this process's code is what it describes


@dataclass
class ResourceSupport:
    interactions: list[str] = field(default_factory=list)
    search_params: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Capabilities:
    """The FHIR routes of one service, filled by the decorators that declare them; the
    CapabilityStatement at `GET /fhir/metadata` lists exactly these."""

    software: str
    scopes: tuple[str, ...]  # any of them reads (the first is the service's own)
    resources: dict[str, ResourceSupport] = field(default_factory=dict)
    included: list[Capabilities] = field(default_factory=list)

    def include(self, other: Capabilities) -> None:
        """Also list what another blueprint of the same base serves (the shared definitions)."""
        self.included.append(other)

    def read(
        self, blp: Blueprint, resource_type: str, id_rule: str, endpoint: str | None = None
    ) -> Callable[[F], F]:
        """Route `GET /fhir/<type>/<id>` (id_rule: `<converter:name>`), answering one resource."""
        self._support(resource_type).interactions.append("read")

        def decorate(view: F) -> F:
            documented = blp.doc(responses=fhir_answer(resource_type, f"The {resource_type}"))
            routed = blp.route(f"/{resource_type}/{id_rule}", methods=["GET"], endpoint=endpoint)
            return routed(documented(requires(*self.scopes)(view)))

        return decorate

    def search(
        self,
        blp: Blueprint,
        resource_type: str,
        schema: type[Schema],
        endpoint: str | None = None,
    ) -> Callable[[F], F]:
        """Route `GET /fhir/<type>`: the view gets the parsed query and answers a searchset."""
        support = self._support(resource_type)
        support.interactions.append("search-type")
        declared = schema().fields.values()
        listed = [f for f in declared if "fhir_type" in f.metadata and not _alias(f, declared)]
        support.search_params += [_search_param(f) for f in listed]
        known = [str(f.data_key or f.name) for f in declared]

        def decorate(view: F) -> F:
            @functools.wraps(view)
            def strict(*args: Any, **kwargs: Any) -> Any:
                refuse_unknown_when_strict(known)
                return view(*args, **kwargs)

            bundle = fhir_answer("Bundle", f"A searchset Bundle of {resource_type} resources")
            parsed = blp.arguments(schema, location="query", error_status_code=400)
            routed = blp.route(f"/{resource_type}", methods=["GET"], endpoint=endpoint)
            scoped = requires(*self.scopes)(strict)
            return cast(F, routed(blp.doc(responses=bundle)(parsed(scoped))))

        return decorate

    def serve_metadata(self, blp: Blueprint) -> None:
        """Route `GET /fhir/metadata`, public: the CapabilityStatement of this base."""

        @blp.route("/metadata", methods=["GET"])
        @blp.doc(
            security=[],
            responses=fhir_answer("CapabilityStatement", "What this FHIR base supports"),
        )
        @blp.arguments(MetadataSchema, location="query", error_status_code=400)
        def capability_statement(_query: dict[str, Any]) -> Response:
            """The CapabilityStatement of this FHIR base (no token needed)"""
            return answer(self.statement())

    def statement(self) -> dict[str, Any]:
        resources = [
            {
                "type": kind,
                "interaction": [{"code": code} for code in support.interactions],
                **({"searchParam": support.search_params} if support.search_params else {}),
            }
            for kind, support in sorted(self._all_resources().items())
        ]
        needed = " or ".join(self.scopes)
        security = f"A bearer JWT with the scope {needed}; /metadata needs none."
        return {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": STARTED.isoformat(),
            "kind": "instance",
            "software": {"name": self.software},
            "implementation": {"description": f"{self.software} FHIR R4 base", "url": base()},
            "fhirVersion": FHIR_VERSION,
            "format": ["json"],
            "rest": [
                {"mode": "server", "security": {"description": security}, "resource": resources}
            ],
        }

    def _all_resources(self) -> dict[str, ResourceSupport]:
        every = dict(self.resources)
        for other in self.included:
            every.update(other._all_resources())
        return every

    def _support(self, resource_type: str) -> ResourceSupport:
        return self.resources.setdefault(resource_type, ResourceSupport())


def _alias(declared: fields.Field[Any], every: Iterable[fields.Field[Any]]) -> bool:
    """Whether the field is an alias of another the search declares (listed in its place)."""
    stands_for = SEARCH_ALIASES.get(str(declared.data_key or declared.name))
    return stands_for is not None and any(f.name == stands_for for f in every)


def _search_param(declared: fields.Field[Any]) -> dict[str, str]:
    return {
        "name": declared.data_key or str(declared.name),
        "type": declared.metadata["fhir_type"],
        "documentation": declared.metadata.get("description", ""),
    }

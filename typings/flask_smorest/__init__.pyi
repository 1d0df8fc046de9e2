# Stubs for the parts of flask-smorest (0.47) that Waypoint uses: Api and Blueprint with its
# route/arguments/response/alt_response decorators. flask-smorest ships no type information.
import os
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, Concatenate, ParamSpec, TypedDict, TypeVar, Unpack

from flask import Blueprint as FlaskBlueprint
from flask import Flask
from marshmallow import Schema
from webargs.flaskparser import FlaskParser
from werkzeug.wrappers import Response

_P = ParamSpec("_P")
_R = TypeVar("_R")
_F = TypeVar("_F", bound=Callable[..., object])

_Status = int | str | HTTPStatus
_SchemaArg = Schema | type[Schema]

class _ResponseDoc(TypedDict, total=False):
    content_type: str | None
    description: str | None
    example: Any
    examples: Mapping[str, Any] | None
    headers: Mapping[str, Any] | None

class Blueprint(FlaskBlueprint):
    ARGUMENTS_PARSER: FlaskParser
    HTTP_METHODS: list[str]
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING: dict[str, str]
    DOCSTRING_INFO_DELIMITER: str
    description: str

    def __init__(
        self,
        name: str,
        import_name: str,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
        url_prefix: str | None = None,
        subdomain: str | None = None,
        url_defaults: dict[str, Any] | None = None,
        root_path: str | None = None,
        cli_group: str | None = ...,
        *,
        description: str = "",
    ) -> None: ...
    # Registers the view (function or MethodView) and returns it unchanged.
    def route(
        self,
        rule: str,
        *,
        parameters: Sequence[str | Mapping[str, Any]] | None = None,
        tags: Sequence[str] | None = None,
        **options: Any,
    ) -> Callable[[_F], _F]: ...
    # The parsed arguments are passed to the view as an extra leading positional argument.
    def arguments(
        self,
        schema: _SchemaArg,
        *,
        location: str = "json",
        content_type: str | None = None,
        required: bool = True,
        description: str | None = None,
        example: Any = None,
        examples: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Callable[[Callable[Concatenate[Any, _P], _R]], Callable[_P, _R]]: ...
    # The view's return value (data, a Response, or a (data, status, headers) tuple) is
    # serialized with the schema into a Response.
    def response(
        self,
        status_code: _Status,
        schema: _SchemaArg | None = None,
        **doc: Unpack[_ResponseDoc],
    ) -> Callable[[Callable[_P, object]], Callable[_P, Response]]: ...
    # Only documents another response; the view keeps its signature and result.
    def alt_response(
        self,
        status_code: _Status,
        response: str | None = None,
        *,
        schema: _SchemaArg | None = None,
        success: bool = False,
        **doc: Unpack[_ResponseDoc],
    ) -> Callable[[_F], _F]: ...
    # Only adds to the operation's OpenAPI document; the view keeps its signature and result.
    def doc(self, **kwargs: Any) -> Callable[[_F], _F]: ...

class Api:
    def __init__(
        self,
        app: Flask | None = None,
        *,
        spec_kwargs: Mapping[str, Any] | None = None,
        config_prefix: str = "",
    ) -> None: ...
    def init_app(self, app: Flask, *, spec_kwargs: Mapping[str, Any] | None = None) -> None: ...
    def register_blueprint(
        self,
        blp: Blueprint,
        *,
        parameters: Sequence[str | Mapping[str, Any]] | None = None,
        **options: Any,
    ) -> None: ...

"""Validate sandbox responses against Merge's published OpenAPI documents.

The documents are copies kept in `merge-openapi/` beside this file (its README says where they come from).
`teams` exists only in the 2023 HRIS document, so that one is used there.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import (
    OAS30Validator,
    OAS31Validator,
    oas30_format_checker,
    oas31_format_checker,
)

SPEC_DIR = Path(__file__).resolve().parent / "merge-openapi"


@functools.cache
def load(name: str) -> dict[str, Any]:
    with (SPEC_DIR / name).open() as handle:
        spec: dict[str, Any] = yaml.load(handle, Loader=yaml.CSafeLoader)
    return spec


def response_schema(spec: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    operation = spec["paths"][path][method]
    schema: dict[str, Any] = operation["responses"]["200"]["content"]["application/json"]["schema"]
    return schema


def assert_valid(name: str, path: str, body: Any, method: str = "get") -> None:
    """Raise if `body` does not match the 200 response schema of `path` in document `name`."""
    spec = load(name)
    schema = {**response_schema(spec, path, method), "components": spec["components"]}
    if spec["openapi"].startswith("3.0"):
        OAS30Validator(schema, format_checker=oas30_format_checker).validate(body)
    else:
        OAS31Validator(schema, format_checker=oas31_format_checker).validate(body)

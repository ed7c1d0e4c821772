"""Rocket.Chat's request validation: ajv (coerceTypes) on the @rocket.chat/rest-typings schemas.

Routes registered with ``validateParams`` reject a request failing their schema with ajv's first
error message (ApiClass.ts: ``validatorFunc.errors.map(e => e.message).join('\\n ')``). The
schemas live in ``rest_schemas.json`` beside this module, loaded on first use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

SCHEMA_FILE = "rest_schemas.json"
AJV_ORDER = {"type": 0, "required": 1, "additionalProperties": 2}


class InvalidParams(Exception):
    """The request failed its endpoint's schema; ``str(exc)`` is ajv's message."""


@cache
def _schemas() -> dict[str, Any]:
    package = __name__.rpartition(".")[0]
    text = resources.files(package).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    endpoints: dict[str, Any] = json.loads(text)["endpoints"]
    return endpoints


@cache
def _validator(key: str) -> Any:
    """The Draft 2020-12 validator of an enforced endpoint (``validateParams``), else None."""
    entry = _schemas().get(key)
    if not entry or not entry.get("enforced"):
        return None
    from jsonschema import Draft202012Validator

    return Draft202012Validator(entry["schema"])


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    names = {float: "number", str: "string", list: "array", dict: "object"}
    return names.get(type(value), "object")


def _coerce_scalar(value: Any, target: str) -> tuple[bool, Any]:
    """ajv ``coerceTypes``: the few scalar conversions it makes, or (False, value)."""
    kind = _json_type(value)
    if target == "string" and kind in ("integer", "number", "boolean", "null"):
        return True, "" if value is None else json.dumps(value)
    if target in ("number", "integer"):
        if kind == "boolean" or value is None:
            return True, int(bool(value))
        if kind == "string" and value.strip():
            try:
                number = float(value)
            except ValueError:
                return False, value
            if number.is_integer():
                return True, int(number)
            return target == "number", number
    if target == "boolean":
        if value in ("true", "false"):
            return True, value == "true"
        if kind in ("integer", "number", "null") and value in (0, 1, None):
            return True, bool(value)
    if target == "null" and (value == "" or value is False or (kind != "boolean" and value == 0)):
        return True, None
    return False, value


def _coerce(value: Any, schema: Mapping[str, Any]) -> Any:
    """Coerce like Rocket.Chat's ajv so the stand-in accepts what the server accepts."""
    if isinstance(value, dict):
        props = schema.get("properties", {})
        return {k: _coerce(v, props[k]) if k in props else v for k, v in value.items()}
    types = schema.get("type")
    if types is None:
        return value
    wanted = [types] if isinstance(types, str) else list(types)
    kind = _json_type(value)
    if kind in wanted or (kind == "integer" and "number" in wanted):
        return value
    for target in wanted:
        done, coerced = _coerce_scalar(value, target)
        if done:
            return coerced
    return value


def _ajv_rank(error: Any) -> tuple[int, int]:
    """ajv checks type, required, additionalProperties, then properties; allErrors is off."""
    return (1 if error.path else 0, AJV_ORDER.get(error.validator, 3))


def _ajv_messages(error: Any) -> list[str]:
    """ajv's wording for one failed keyword (for anyOf/oneOf: each branch's first error too)."""
    keyword, value = error.validator, error.validator_value
    if keyword in ("anyOf", "oneOf"):
        branches: dict[int, Any] = {}
        for sub in sorted(error.context, key=_ajv_rank):
            branches.setdefault(sub.relative_schema_path[0], sub)
        lines = [msg for _, sub in sorted(branches.items()) for msg in _ajv_messages(sub)]
        last = (
            "must match a schema in anyOf"
            if keyword == "anyOf"
            else ("must match exactly one schema in oneOf")
        )
        return [*lines, last]
    if keyword == "required":
        missing = next(name for name in value if name not in error.instance)
        return [f"must have required property '{missing}'"]
    if keyword == "additionalProperties":
        return ["must NOT have additional properties"]
    if keyword == "type":
        return ["must be " + (value if isinstance(value, str) else ",".join(value))]
    if keyword == "minLength":
        return [f"must NOT have fewer than {value} characters"]
    return [str(error.message)]


def validate(key: str, params: Any) -> Any:
    """``params`` coerced as ajv would, or :class:`InvalidParams`; key is ``"POST /api/v1/x"``."""
    validator = _validator(key)
    if validator is None:
        return params
    params = _coerce(params, validator.schema)
    errors = sorted(validator.iter_errors(params), key=_ajv_rank)
    if errors:
        raise InvalidParams("\n ".join(_ajv_messages(errors[0])))
    return params

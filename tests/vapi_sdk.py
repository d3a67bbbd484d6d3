"""Check a value against `vapi-server-sdk`'s models as Vapi would: validated, holding only fields
the SDK knows, and in the SDK's open enums (`Literal[...] | Any`) only values it lists.

Validation is pydantic's default, not strict: the SDK's models reshape their input before
validating, and strict mode then refuses every date.
"""

import importlib
import json
import types
import typing

import pydantic

# Importing the SDK's server messages costs a process ~17 s (pydantic rebuilds its ~1,600
# models). Test modules name the types and read them here at run time, so collecting the suite
# imports nothing; the tests that read them are marked `vapi_sdk` and collected first
# (tests/conftest.py), where one pytest-xdist worker runs them all and pays that import once.


# Set for each test by tests/conftest.py: whether it carries the `vapi_sdk` marker.
running_a_marked_test = True


def sdk_type(name, module="vapi.types"):
    """A type of the SDK (`vapi.types` by default), imported on first use."""
    # An unmarked test would pay the import again in another pytest-xdist worker: ~17 s of CPU.
    assert running_a_marked_test, "this test reads the SDK's models: mark it vapi_sdk"
    return getattr(importlib.import_module(module), name)


def _members(annotation):
    """The alternatives of a type: Optional, Union and Annotated unwrapped."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [member for arg in typing.get_args(annotation) for member in _members(arg)]
    return [annotation]


def literal_choices(annotation):
    """The values an open SDK enum (`Literal[...] | Any`, maybe optional) lists, else None."""
    members = [member for member in _members(annotation) if member is not type(None)]
    literals = [member for member in members if typing.get_origin(member) is typing.Literal]
    if not literals or any(m is not typing.Any and m not in literals for m in members):
        return None
    return {value for literal in literals for value in typing.get_args(literal)}


def _item_type(annotation):
    """The item type of a list field, else None."""
    for member in _members(annotation):
        if typing.get_origin(member) is list:
            return typing.get_args(member)[0]
    return None


def _value_problems(value, annotation, where):
    if isinstance(value, pydantic.BaseModel):
        return model_problems(value, where)
    if isinstance(value, list):
        item = _item_type(annotation)
        return [p for i, v in enumerate(value) for p in _value_problems(v, item, f"{where}[{i}]")]
    if isinstance(value, dict):  # free-form, or a map of models (a JSON schema's properties)
        return [p for k, v in value.items() for p in _value_problems(v, None, f"{where}.{k}")]
    choices = literal_choices(annotation) if annotation is not None else None
    if value is not None and choices is not None and value not in choices:
        return [f"{where}: {value!r} is none of the SDK's values"]
    return []


def model_problems(instance, where, skip=()):
    """Fields the SDK does not know, and values outside its enums, in a validated model."""
    problems = [
        f"{where}.{name}: no such field in {type(instance).__name__}"
        for name in instance.model_extra or {}
    ]
    for name, field in type(instance).model_fields.items():
        key = field.alias or name
        if key not in skip:
            problems += _value_problems(getattr(instance, name), field.annotation, f"{where}.{key}")
    return problems


def validated(model, data, where):
    """(instance, errors): `data` validated as JSON against an SDK model or type."""
    adapter = model if isinstance(model, pydantic.TypeAdapter) else pydantic.TypeAdapter(model)
    try:
        return adapter.validate_json(json.dumps(data)), []
    except pydantic.ValidationError as error:
        return None, [
            f"{where}.{'.'.join(str(part) for part in e['loc'])}: {e['msg']}"
            for e in error.errors()
        ]


def problems_as(model, data, where):
    """What the SDK would not accept in `data` as `model`: errors, unknown fields, enum values."""
    instance, errors = validated(model, data, where)
    return errors or _value_problems(instance, None, where)

"""The customer fields of the skeleton (email, name, metadata) and their rules (api.md §4)."""

from __future__ import annotations

import pytest
from customers_core.http import validation_error
from customers_core.models.customer import CustomerCreate
from customers_core.models.fields import merge_metadata
from pydantic import ValidationError


def _error(data: dict):
    with pytest.raises(ValidationError) as caught:
        CustomerCreate.model_validate(data)
    return validation_error(caught.value)


def test_valid_create_keeps_email_as_given():
    params = CustomerCreate.model_validate({"email": "Ada@Example.com", "name": "Ada"})
    assert params.email == "Ada@Example.com"


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@b.co", "a" * 505 + "@b.co"])
def test_invalid_email_is_parameter_invalid(email):
    err = _error({"email": email})
    assert (err.status, err.code, err.param) == (400, "parameter_invalid", "email")


def test_unknown_field_is_parameter_unknown_naming_it():
    err = _error({"nickname": "x"})
    assert (err.code, err.param) == ("parameter_unknown", "nickname")


def test_name_longer_than_256_is_rejected():
    assert _error({"name": "x" * 257}).param == "name"


def test_empty_string_means_unset():
    assert CustomerCreate.model_validate({"name": "", "email": ""}).name is None


@pytest.mark.parametrize(
    "metadata",
    [{f"k{i}": "v" for i in range(51)}, {"x" * 41: "v"}, {"a[b]": "v"}, {"k": "v" * 501}, {"k": 5}, ["a"]],
)
def test_metadata_limits_are_metadata_invalid(metadata):
    err = _error({"metadata": metadata})
    assert err.code == "metadata_invalid"
    assert err.param.startswith("metadata")


def test_metadata_at_the_limits_is_accepted():
    params = CustomerCreate.model_validate({"metadata": {f"{i:040d}": "v" * 500 for i in range(50)}})
    assert isinstance(params.metadata, dict)
    assert len(merge_metadata({}, params.metadata, clear=False)) == 50


def test_metadata_keys_sent_empty_are_not_stored_on_create():
    params = CustomerCreate.model_validate({"metadata": {"a": "1", "b": "", "c": None}})
    assert isinstance(params.metadata, dict)
    assert merge_metadata({}, params.metadata, clear=False) == {"a": "1"}


def test_wrong_type_is_parameter_invalid():
    err = _error({"name": 42})
    assert (err.code, err.param) == ("parameter_invalid", "name")

"""Lookups on IP-address columns refuse a value no address can be, when the filter is built.

PostgreSQL stores GenericIPAddressField as ``inet``, and Django adapts the value only
when the query runs, so ``filter(ip_address="xx")`` fails late, with a ValueError
from deep inside the query compiler. The admin's changelist accepts a lookup on any
column from the query string and turns errors raised while *building* the filter
into its "bad lookup" redirect (?e=1), but not errors raised while rendering. These
lookups move the check to where the admin (and any caller) expects it: a
ValidationError from ``filter()``. Registered on the field class in
``CoreConfig.ready()``, so every IP-address column gets them, third-party ones too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import GenericIPAddressField
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    LessThan,
    LessThanOrEqual,
)


def _check_address(value: Any) -> None:
    if value is None or hasattr(value, "resolve_expression"):
        return
    try:
        ipaddress.ip_address(str(value).strip())
    except ValueError:
        raise ValidationError("Enter a valid IPv4 or IPv6 address.", code="invalid") from None


class _AddressCheck:
    rhs: Any

    def get_prep_lookup(self) -> Any:
        _check_address(self.rhs)
        return super().get_prep_lookup()  # type: ignore[misc]


class AddressExact(_AddressCheck, Exact):
    pass


class AddressGreaterThan(_AddressCheck, GreaterThan):
    pass


class AddressGreaterThanOrEqual(_AddressCheck, GreaterThanOrEqual):
    pass


class AddressLessThan(_AddressCheck, LessThan):
    pass


class AddressLessThanOrEqual(_AddressCheck, LessThanOrEqual):
    pass


class AddressIn(In):
    def get_prep_lookup(self) -> Any:
        if isinstance(self.rhs, Iterable) and not isinstance(self.rhs, str | bytes):
            for value in self.rhs:
                _check_address(value)
        return super().get_prep_lookup()


def register_address_lookups() -> None:
    for lookup in (
        AddressExact,
        AddressGreaterThan,
        AddressGreaterThanOrEqual,
        AddressLessThan,
        AddressLessThanOrEqual,
        AddressIn,
    ):
        GenericIPAddressField.register_lookup(lookup)

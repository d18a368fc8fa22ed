from __future__ import annotations

import pytest

from regsecrets.audit.models import AuditEvent
from regsecrets.audit.services import audit_record

pytestmark = pytest.mark.django_db


def test_nul_characters_in_details_are_dropped_so_postgresql_can_store_them(org):
    audit_record(
        action="secret.verified",
        organization=org,
        object_name="na\x00me",
        details={"image": "ghcr.io/a\x00b", "hosts": ["x\x00y"], "nested": {"k\x00": "v"}},
    )
    event = AuditEvent.objects.get(action="secret.verified")
    assert event.object_name == "name"
    assert event.details == {"image": "ghcr.io/ab", "hosts": ["xy"], "nested": {"k": "v"}}


def test_credential_keys_are_refused_in_details(org):
    with pytest.raises(ValueError, match="password"):
        audit_record(action="secret.updated", organization=org, details={"password": "x"})
    assert not AuditEvent.objects.filter(action="secret.updated").exists()

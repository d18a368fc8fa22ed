"""The forms and pickers every face shares: one confirm-delete form, one provider-card builder."""

from __future__ import annotations

import pytest
from django.urls import reverse

from regsecrets.core.forms import ConfirmDeleteForm
from regsecrets.registries import PROVIDERS
from regsecrets.registry_secrets.forms import provider_cards


def test_confirm_delete_needs_the_exact_name_and_ignores_surrounding_spaces():
    assert ConfirmDeleteForm({"confirm_name": "  shop "}, expected="shop").is_valid()
    form = ConfirmDeleteForm({"confirm_name": "Shop"}, expected="shop")
    assert not form.is_valid()
    assert form.errors["confirm_name"] == ["The name does not match."]
    assert not ConfirmDeleteForm({}, expected="shop").is_valid()


def test_confirm_delete_says_whose_name_it_wants():
    assert ConfirmDeleteForm(expected="x")["confirm_name"].label == "Type the name to confirm"
    form = ConfirmDeleteForm(expected="x", label="Type the secret's name to confirm")
    assert form["confirm_name"].label == "Type the secret's name to confirm"


def test_provider_cards_link_every_provider_and_carry_next():
    cards = provider_cards("registry_secrets:create", next_url="/apps/1/services/new/?name=a")
    assert [card.provider for card in cards] == list(PROVIDERS)
    github = next(card for card in cards if card.provider.slug == "github")
    assert github.url == (
        reverse("registry_secrets:create", args=["github"])
        + "?next=%2Fapps%2F1%2Fservices%2Fnew%2F%3Fname%3Da"
    )
    assert "?" not in provider_cards("registry_secrets:create")[0].url


@pytest.mark.django_db
def test_the_secret_picker_and_the_service_form_offer_the_same_providers(alice_client, org):
    from regsecrets.deploy.services import app_create

    app = app_create(organization=org, name="shop")
    picker = alice_client.get(reverse("registry_secrets:new")).content.decode()
    service_form = alice_client.get(
        reverse("deploy:service_create", kwargs={"app_id": app.pk})
    ).content.decode()
    for card in provider_cards("deploy:inline_secret_fields"):
        slug = card.provider.slug
        assert f'data-provider="{slug}"' in picker
        # The inline panel's picker: one radio card per provider, as on the secret pages.
        assert f'id="inline-provider-{slug}" value="{slug}"' in service_form

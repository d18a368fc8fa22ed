"""Audit events as sentences people read: the one place that words them.

``present_events`` turns a page of :class:`AuditEvent` rows into
:class:`EventSentence` values ("ada rotated the password of ghcr-acme", "Check of
ghcr.io failed: the registry rejected the credentials") with a link to the object
while it still exists. Codes, Python lists, booleans and internal keys (key ids,
field names) never reach the page: providers by their names, hosts as people write
them (docker.io), failures by what went wrong (``registries.outcomes``).

Audit events point at objects of apps above this one (secrets, apps, services), so
their existence is looked up through Django's app registry by label, as the admin's
own log entries do, with one query per object type and page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.apps import apps
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from regsecrets.audit.models import AuditEvent
from regsecrets.registries import display_host, get_provider
from regsecrets.registries.outcomes import outcome_for

__all__ = ["ACTION_LABELS", "OBJECT_LABELS", "EventSentence", "present_event", "present_events"]

# The Activity filter's words for the stored action and object codes.
ACTION_LABELS = {
    "app.created": "App created",
    "app.deleted": "App deleted",
    "service.created": "Service created",
    "service.updated": "Service changed",
    "service.deleted": "Service deleted",
    "secret.created": "Secret created",
    "secret.updated": "Secret changed",
    "secret.deleted": "Secret deleted",
    "secret.revealed": "Secret revealed",
    "secret.exported": "Pull secret exported",
    "secret.reencrypted": "Secret re-encrypted",
    "secret.verified": "Credentials or image checked",
    "secret.token_minted": "Short-lived token issued",
    "secret.health_changed": "Health changed",
    "secret.alert_sent": "Alert sent",
    "organization.created": "Organization created",
    "organization.webhook_set": "Webhook set",
    "organization.webhook_removed": "Webhook removed",
    "member.added": "Member added",
    "member.role_changed": "Member's role changed",
    "token.created": "API token created",
    "token.revoked": "API token revoked",
}
OBJECT_LABELS = {
    "secret": "Registry secrets",
    "app": "Apps",
    "service": "Services",
    "apitoken": "API tokens",
    "membership": "Members",
    "organization": "Organization",
    "healthwebhook": "Health webhook",
}

# Words for the input names a secret's "changed_fields" lists.
_FIELD_WORDS = {
    "password": "password",
    "username": "username",
    "url": "registry address",
    "registry_name": "registry name",
    "keyfile_content": "key file",
    "config": "config.json",
    "expires_at": "expiry date",
    "access_key_id": "access key",
    "secret_access_key": "secret access key",
    "region": "region",
    "registry_id": "registry ID",
    "role_arn": "role",
    "name": "name",
    "image": "image",
    "registry_secret": "registry secret",
}
_ROLE_WORDS = {"owner": "owner", "admin": "admin", "member": "member"}
_HEALTH_WORDS = {
    "FAILING": "failing",
    "EXPIRING": "about to expire",
    "HEALTHY": "working",
    "UNKNOWN": "not checked",
}
_ALERT_WORDS = {"failing": "failing", "expiring": "expiry", "recovered": "recovery"}

# Object types whose rows may still exist, with the page that shows one.
_DETAIL_PAGES = {
    "secret": ("registry_secrets.Secret", "registry_secrets:detail"),
    "app": ("deploy.App", "deploy:app_detail"),
    "service": ("deploy.Service", "deploy:service_detail"),
}
# Object types shown on one page whatever the id.
_LIST_PAGES = {
    "apitoken": "api_tokens",
    "membership": "organization_detail",
    "organization": "organization_detail",
    "healthwebhook": "registry_secrets:webhook",
}
_GONE_ACTIONS = {"app.deleted", "service.deleted", "secret.deleted", "token.revoked"}


@dataclass(frozen=True)
class EventSentence:
    """One event for the page: a sentence (HTML with the object's link) and its kind."""

    event: AuditEvent
    html: SafeString
    text: str  # the same sentence without markup (tests, titles)
    failed: bool
    via_api: bool


def _words(names: Iterable[Any]) -> str:
    words = [_FIELD_WORDS.get(str(n), str(n).replace("_", " ")) for n in names]
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def _hosts(value: Any) -> str:
    if not isinstance(value, list | tuple):
        return ""
    return ", ".join(display_host(str(h)) for h in value)


def _provider_label(key: Any) -> str:
    try:
        return get_provider(str(key)).label
    except KeyError:
        return "an unknown provider"


class _Sentence:
    """Builds a sentence from plain parts and one object mention."""

    def __init__(self, url: str | None, name: str) -> None:
        self.url = url
        self.name = name

    def render(self, template: str, **parts: str) -> tuple[SafeString, str]:
        """``template`` uses {obj} for the object and {name} placeholders for parts."""
        text = template.format(obj=self.name, **parts)
        if self.url:
            obj_html = format_html('<a href="{}">{}</a>', self.url, self.name)
        else:
            obj_html = format_html('<span class="fw-semibold">{}</span>', self.name)
        escaped = {k: format_html("{}", v) for k, v in parts.items()}
        return format_html(template.replace("{obj}", "{_obj}"), _obj=obj_html, **escaped), text


def _object_url(event: AuditEvent, existing: Mapping[str, set[str]]) -> str | None:
    if event.action in _GONE_ACTIONS:
        return None
    if event.object_type in _DETAIL_PAGES:
        if event.object_id in existing.get(event.object_type, set()):
            return reverse(_DETAIL_PAGES[event.object_type][1], args=[event.object_id])
        return None
    if event.object_type in _LIST_PAGES:
        return reverse(_LIST_PAGES[event.object_type])
    return None


def _check_sentence(
    event: AuditEvent, who: str, obj: _Sentence, d: Mapping[str, Any]
) -> tuple[SafeString, str, bool]:
    host = display_host(str(d.get("host", ""))) or "the registry"
    success = d.get("success") is True
    if d.get("check") == "image":
        image = str(d.get("image", ""))
        if success:
            html, text = obj.render(
                "{who} checked that {image} can be pulled with {obj}", who=who, image=image
            )
        else:
            problem = outcome_for(str(d.get("code", ""))).problem
            html, text = obj.render(
                "Pulling {image} with {obj} failed: {problem}",
                image=image,
                problem=problem,
            )
        return html, text, not success
    if success:
        html, text = obj.render(
            "{who} checked {obj} on {host}: the credentials work", who=who, host=host
        )
    else:
        problem = outcome_for(str(d.get("code", ""))).problem
        html, text = obj.render(
            "Check of {obj} on {host} failed: {problem}", host=host, problem=problem
        )
    return html, text, not success


def present_event(event: AuditEvent, existing: Mapping[str, set[str]]) -> EventSentence:
    """The sentence for one event; ``existing`` holds the ids still present per type."""
    d: Mapping[str, Any] = event.details if isinstance(event.details, dict) else {}
    who = event.actor_name or "The system"
    name = event.object_name or "an object"
    if event.object_type == "service" and d.get("app"):
        name = f"{d['app']}/{event.object_name}"
    obj = _Sentence(_object_url(event, existing), name)
    failed = False
    action = event.action
    if action == "secret.verified":
        html, text, failed = _check_sentence(event, who, obj, d)
    elif action == "secret.created":
        provider = _provider_label(d.get("provider"))
        hosts = _hosts(d.get("hosts"))
        html, text = obj.render(
            "{who} added the registry secret {obj} ({what})",
            who=who,
            what=f"{provider}, {hosts}" if hosts else provider,
        )
    elif action == "secret.updated":
        replaced = list(d.get("secret_fields_replaced") or [])
        others = [f for f in d.get("changed_fields") or [] if f not in replaced]
        if replaced and not others:
            html, text = obj.render(
                "{who} rotated the {what} of {obj}", who=who, what=_words(replaced)
            )
        elif replaced:
            html, text = obj.render(
                "{who} rotated the {secret} and changed the {what} of {obj}",
                who=who,
                secret=_words(replaced),
                what=_words(others),
            )
        elif others:
            html, text = obj.render(
                "{who} changed the {what} of {obj}", who=who, what=_words(others)
            )
        else:
            html, text = obj.render("{who} saved {obj} without changes", who=who)
    elif action == "secret.deleted":
        html, text = obj.render("{who} deleted the registry secret {obj}", who=who)
    elif action == "secret.revealed":
        html, text = obj.render("{who} revealed the credentials of {obj}", who=who)
    elif action == "secret.reencrypted":
        html, text = obj.render("{who} re-encrypted {obj} with the current key", who=who)
    elif action == "secret.exported":
        service = str(d.get("service", ""))
        html, text = obj.render(
            "{who} exported the pull secret of {service} from {obj}", who=who, service=service
        )
    elif action == "secret.token_minted":
        if d.get("success") is False:
            failed = True
            problem = outcome_for(str(d.get("code", ""))).problem
            html, text = obj.render(
                "Getting a short-lived token for {obj} failed: {problem}", problem=problem
            )
        else:
            html, text = obj.render("A short-lived login token was issued for {obj}")
    elif action == "secret.health_changed":
        to = str(d.get("to", ""))
        state = _HEALTH_WORDS.get(to, "changed")
        if to == "FAILING":
            failed = True
            problem = outcome_for(str(d.get("code", ""))).problem
            html, text = obj.render("{obj} is now failing: {problem}", problem=problem)
        elif to == "HEALTHY":
            html, text = obj.render("{obj} works again")
        else:
            html, text = obj.render("{obj} is now {state}", state=state)
    elif action == "secret.alert_sent":
        kind = _ALERT_WORDS.get(str(d.get("alert", "")), "health")
        if d.get("channel") == "webhook":
            html, text = obj.render(
                "The {kind} alert about {obj} was sent to the webhook", kind=kind
            )
        else:
            count = d.get("recipients")
            people = (
                f"{count} {'person' if count == 1 else 'people'}"
                if isinstance(count, int)
                else "the owners and admins"
            )
            html, text = obj.render(
                "The {kind} alert about {obj} was emailed to {people}", kind=kind, people=people
            )
    elif action in ("app.created", "app.deleted"):
        verb = "created" if action == "app.created" else "deleted"
        html, text = obj.render("{who} {verb} the app {obj}", who=who, verb=verb)
    elif action == "service.created":
        secret = d.get("registry_secret")
        pulled = f", pulled with {secret}" if secret else ", a public image"
        html, text = obj.render(
            "{who} created the service {obj} ({image}{pulled})",
            who=who,
            image=str(d.get("image", "")),
            pulled=pulled,
        )
    elif action == "service.updated":
        changed = list(d.get("changed_fields") or [])
        what = _words(changed) if changed else "nothing"
        html, text = obj.render("{who} changed the {what} of the service {obj}", who=who, what=what)
    elif action == "service.deleted":
        html, text = obj.render("{who} deleted the service {obj}", who=who)
    elif action == "organization.created":
        html, text = obj.render("{who} created the organization {obj}", who=who)
    elif action == "organization.webhook_set":
        html, text = obj.render("{who} set the health webhook to {obj}", who=who)
    elif action == "organization.webhook_removed":
        obj = _Sentence(obj.url, "the health webhook")
        html, text = obj.render("{who} removed {obj}", who=who)
    elif action == "member.added":
        role = _ROLE_WORDS.get(str(d.get("role", "")), "member")
        html, text = obj.render("{who} added {obj} as {role}", who=who, role=role)
    elif action == "member.role_changed":
        before = _ROLE_WORDS.get(str(d.get("from", "")), "another role")
        after = _ROLE_WORDS.get(str(d.get("to", "")), "another role")
        html, text = obj.render(
            "{who} changed the role of {obj} from {before} to {after}",
            who=who,
            before=before,
            after=after,
        )
    elif action in ("token.created", "token.revoked"):
        verb = "created" if action == "token.created" else "revoked"
        html, text = obj.render("{who} {verb} the API token {obj}", who=who, verb=verb)
    else:
        label = ACTION_LABELS.get(action, action.replace(".", " ").replace("_", " "))
        html, text = obj.render("{who}: {label}, {obj}", who=who, label=label)
    return EventSentence(
        event=event, html=html, text=text, failed=failed, via_api=event.api_token_id is not None
    )


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def _existing_ids(events: list[AuditEvent]) -> dict[str, set[str]]:
    """Which referenced secrets, apps and services still exist: one query per type."""
    wanted: dict[str, set[str]] = defaultdict(set)
    organization_id = None
    for event in events:
        if event.object_type in _DETAIL_PAGES and _is_uuid(event.object_id):
            wanted[event.object_type].add(event.object_id)
            organization_id = event.organization_id
    existing: dict[str, set[str]] = {}
    for object_type, ids in wanted.items():
        model = apps.get_model(_DETAIL_PAGES[object_type][0])
        rows = model.objects.filter(pk__in=ids, organization_id=organization_id)
        existing[object_type] = {str(pk) for pk in rows.values_list("pk", flat=True)}
    return existing


def present_events(events: Iterable[AuditEvent]) -> list[EventSentence]:
    """Sentences for a page of one organization's events."""
    rows = list(events)
    existing = _existing_ids(rows)
    return [present_event(event, existing) for event in rows]

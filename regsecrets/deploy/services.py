"""Writes for apps and services, and the rule that a service's secret must serve its image.

The browser forms and the /v1 API both call these functions, so the matching rule
and the audit trail are the same whichever face is used. Matching reads the
secret's clear ``hosts`` metadata only: only the export decrypts.

Lock order (PostgreSQL row locks; SQLite serialises writers): app, then registry
secret, then service. A service write locks its app and its secret before it
validates, so a concurrent delete of either is seen before the insert, never as a
foreign-key violation at commit; ``secret_delete`` locks the secret before it looks
for services that use it, so one of the two always sees the other. Every service
write holds its app's lock, so what an update reads of its service after taking
that lock stays true until it commits.

Each write that sets a service's definition (name, image, secret) records it as a
new ``Deployment`` (version 1, 2, …) and points ``Service.latest_deployment`` at
it, in the same transaction; an update that changes nothing records none.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from regsecrets.accounts.models import Organization
from regsecrets.audit.services import audit_record
from regsecrets.core.names import validate_name
from regsecrets.deploy.models import App, Deployment, Service
from regsecrets.registries import (
    MAX_IMAGE_LENGTH,
    InvalidImageReference,
    credentials_for_image,
    display_host,
    hosts_for_image,
    parse_image_reference,
)
from regsecrets.registries.minting import MintingError
from regsecrets.registry_secrets.minting import LongLivedUnavailable, secret_login_config
from regsecrets.registry_secrets.models import Secret


class _Keep(enum.Enum):
    KEEP = "keep"


# service_update's "leave this part of the definition as it is" (a PATCH leaves out).
KEEP = _Keep.KEEP


def _name_errors(name: Any) -> list[str]:
    try:
        validate_name(name)
    except ValidationError as exc:
        return list(exc.messages)
    return []


def check_image(image: Any) -> str:
    """Return the image reference stripped; raise ValidationError keyed "image"."""
    if not isinstance(image, str) or not image.strip():
        raise ValidationError(
            {"image": ["Enter an image reference, such as ghcr.io/owner/app:tag."]}
        )
    image = image.strip()
    if len(image) > MAX_IMAGE_LENGTH:
        raise ValidationError({"image": [f"Enter at most {MAX_IMAGE_LENGTH} characters."]})
    try:
        parse_image_reference(image)
    except InvalidImageReference as exc:
        raise ValidationError({"image": [str(exc)]})
    return image


def check_secret_matches_image(secret: Secret, image: str) -> None:
    """Refuse a secret whose registries do not serve ``image`` (kubelet keyring rules).

    Raises ValidationError keyed "image" for a malformed reference and
    "registry_secret" when none of the secret's registries serves the image.
    """
    try:
        reference = parse_image_reference(image)
        matches = hosts_for_image(secret.hosts or [], reference)
    except InvalidImageReference as exc:
        raise ValidationError({"image": [str(exc)]})
    if not matches:
        hosts = ", ".join(display_host(h) for h in secret.hosts or []) or "no registry"
        raise ValidationError(
            {
                "registry_secret": [
                    f"The secret “{secret.name}” holds credentials for {hosts}, "
                    f"which do not serve images on {reference.domain}."
                ]
            }
        )


@transaction.atomic
def app_create(
    *,
    organization: Organization,
    name: Any,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> App:
    """Create an app; raises ValidationError keyed "name" (bad or taken name)."""
    errors = _name_errors(name)
    if errors:
        raise ValidationError({"name": errors})
    if App.objects.filter(organization=organization, name=name).exists():
        raise ValidationError(
            {"name": [ValidationError(f"An app named “{name}” already exists.", code="unique")]}
        )
    try:
        with transaction.atomic():
            app = App.objects.create(organization=organization, name=name)
    except IntegrityError:
        raise ValidationError(
            {"name": [ValidationError(f"An app named “{name}” already exists.", code="unique")]}
        )
    audit_record(
        action="app.created", organization=organization, actor=actor, obj=app, request=request
    )
    return app


def _app_name_errors(organization: Organization, name: Any) -> list[str]:
    errors = _name_errors(name)
    if not errors and App.objects.filter(organization=organization, name=name).exists():
        errors = [f"An app named “{name}” already exists."]
    return errors


def app_with_service_validate(
    *,
    organization: Organization,
    app_name: Any,
    name: Any,
    image: Any,
    registry_secret: Secret | None,
) -> None:
    """The rules of app_create_with_service without saving: a ValidationError keyed
    "app_name", "name", "image", "registry_secret" with every error at once."""
    errors: dict[str, list[str]] = {}
    app_errors = _app_name_errors(organization, app_name)
    if app_errors:
        errors["app_name"] = app_errors
    try:
        # An unsaved app of the organization: the service's rules need no row.
        service_validate(
            app=App(organization=organization, name=str(app_name or "")),
            name=name,
            image=image,
            registry_secret=registry_secret,
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def app_create_with_service(
    *,
    organization: Organization,
    app_name: Any,
    name: Any,
    image: Any,
    registry_secret: Secret | None,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> Service:
    """Create an app and its first service at once (the console's "New app" page).

    Every rule of app_create and service_create is judged before anything is
    written, and all the errors come back together, keyed "app_name", "name",
    "image", "registry_secret"; then both are created in one transaction (both
    audited), so a failure leaves no app without its service.
    """
    app_with_service_validate(
        organization=organization,
        app_name=app_name,
        name=name,
        image=image,
        registry_secret=registry_secret,
    )
    try:
        app = app_create(organization=organization, name=app_name, actor=actor, request=request)
    except ValidationError as exc:  # taken meanwhile: the same field
        raise ValidationError({"app_name": exc.message_dict.get("name", exc.messages)})
    return service_create(
        app=app,
        name=name,
        image=image,
        registry_secret=registry_secret,
        actor=actor,
        request=request,
    )


@transaction.atomic
def app_delete(*, app: App, actor: User | None = None, request: HttpRequest | None = None) -> None:
    """Delete an app and its services (each service deletion is audited).

    The app row is locked first, so a service being created in it either commits
    before (and is deleted here) or finds the app gone.
    """
    if not App.objects.select_for_update().filter(pk=app.pk).exists():
        return  # deleted by a concurrent request: what the caller wanted holds
    for service in app.services.all():
        service_delete(service=service, actor=actor, request=request)
    audit_record(
        action="app.deleted", organization=app.organization, actor=actor, obj=app, request=request
    )
    app.delete()


def service_validate(
    *,
    app: App,
    name: Any,
    image: Any,
    registry_secret: Secret | None,
    service: Service | None = None,
) -> str:
    """The rules of service_create (and, given ``service``, service_update), without saving.

    Returns the normalized image. Raises ValidationError keyed "name", "image",
    "registry_secret": the name is unique in the app, the image parses, and the
    secret belongs to the app's organization and serves the image (stored host
    metadata, no decryption). Forms that show errors before saving (the admin)
    call it from their validation.
    """
    errors: dict[str, list[str]] = {}
    name_errors = _name_errors(name)
    clash = Service.objects.filter(app_id=app.pk, name=name)
    if service is not None:
        clash = clash.exclude(pk=service.pk)
    if name_errors:
        errors["name"] = name_errors
    elif clash.exists():
        errors["name"] = [f"A service named “{name}” already exists in {app.name}."]
    try:
        image = check_image(image)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if registry_secret is not None and "image" not in errors:
        if registry_secret.organization_id != app.organization_id:
            errors["registry_secret"] = ["No such secret in this organization."]
        else:
            try:
                check_secret_matches_image(registry_secret, image)
            except ValidationError as exc:
                errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return image


SECRET_GONE = "This secret was deleted; choose another, or none for a public image."


def _lock_app(app_id: Any) -> None:
    """Lock the app's row; raise App.DoesNotExist when it was deleted meanwhile."""
    if not App.objects.select_for_update().filter(pk=app_id).exists():
        raise App.DoesNotExist(f"App {app_id} was deleted.")


def _lock_secret(registry_secret: Secret | None) -> Secret | None:
    """Lock the secret's row and return it as stored now (hosts may have changed too).

    Raises ValidationError keyed "registry_secret" when it was deleted: the same
    field the form and the API answer for a secret that is not there.
    """
    if registry_secret is None:
        return None
    locked = (
        Secret.objects.select_for_update().defer("document").filter(pk=registry_secret.pk).first()
    )
    if locked is None:
        raise ValidationError({"registry_secret": [ValidationError(SECRET_GONE, code="gone")]})
    return locked


def _lock_app_and_secret(app: App, registry_secret: Secret | None) -> Secret | None:
    """Lock the app, then the secret (the module's lock order); return the secret as stored now.

    Raises App.DoesNotExist when the app was deleted meanwhile, and ValidationError
    keyed "registry_secret" when the secret was.
    """
    _lock_app(app.pk)
    return _lock_secret(registry_secret)


def _deploy(service: Service, registry_secret: Secret | None) -> Deployment:
    """Record the service's definition as its next deployment and make it the latest.

    The caller holds the service's row (or has just inserted it), so versions
    cannot collide.
    """
    last = Deployment.objects.filter(service=service).aggregate(last=Max("version"))["last"]
    deployment = Deployment.objects.create(
        service=service,
        app_id=service.app_id,
        organization_id=service.organization_id,
        version=(last or 0) + 1,
        name=service.name,
        image=service.image,
        registry_secret_name=registry_secret.name if registry_secret else "",
    )
    service.latest_deployment = deployment
    return deployment


@transaction.atomic
def service_create(
    *,
    app: App,
    name: Any,
    image: Any,
    registry_secret: Secret | None,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> Service:
    """Create a service; raises ValidationError keyed "name", "image", "registry_secret".

    The secret must belong to the app's organization and serve the image. Raises
    App.DoesNotExist if the app was deleted by a concurrent request.
    """
    registry_secret = _lock_app_and_secret(app, registry_secret)
    image = service_validate(app=app, name=name, image=image, registry_secret=registry_secret)
    try:
        with transaction.atomic():
            service = Service.objects.create(
                app=app,
                organization_id=app.organization_id,
                name=name,
                image=image,
                registry_secret=registry_secret,
            )
            deployment = _deploy(service, registry_secret)
            service.save(update_fields=["latest_deployment"])
            audit_record(
                action="service.created",
                organization=app.organization,
                actor=actor,
                obj=service,
                request=request,
                details={
                    "app": app.name,
                    "image": image,
                    "registry_secret": registry_secret.name if registry_secret else None,
                    "deployment": str(deployment.pk),
                    "version": deployment.version,
                },
            )
    except IntegrityError:
        raise ValidationError({"name": [f"A service named “{name}” already exists in {app.name}."]})
    return service


@transaction.atomic
def service_delete(
    *, service: Service, actor: User | None = None, request: HttpRequest | None = None
) -> None:
    audit_record(
        action="service.deleted",
        organization=service.organization,
        actor=actor,
        obj=service,
        request=request,
        details={"app": service.app.name},
    )
    service.delete()


@transaction.atomic
def service_update(
    *,
    service: Service,
    name: Any = KEEP,
    image: Any = KEEP,
    registry_secret: Secret | _Keep | None = KEEP,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> Service:
    """Change a service's name, image or secret (None removes it; KEEP, the default,
    leaves a part as stored), with the same rules as service_create.

    Raises ValidationError keyed by field, and Service.DoesNotExist (or
    App.DoesNotExist) if it was deleted meanwhile. A change records a new
    deployment; an update that changes nothing records none (and is audited with
    no changed fields).
    """
    _lock_app(service.app_id)
    if registry_secret is KEEP:
        # Under the app's lock no other write changes the service: read what it uses.
        current = Service.objects.filter(pk=service.pk).values("registry_secret_id").first()
        if current is None:
            raise Service.DoesNotExist(f"Service {service.pk} was deleted.")
        kept = current["registry_secret_id"]
        registry_secret = _lock_secret(Secret(pk=kept) if kept else None)
    else:
        registry_secret = _lock_secret(registry_secret)
    # Lock, then read: "before" (for the audit) is the row as stored now, and a
    # service deleted meanwhile is not saved back (save() would insert it again).
    service = (
        Service.objects.select_for_update(of=("self",))
        .select_related("app", "organization")
        .get(pk=service.pk)
    )
    name = service.name if name is KEEP else name
    image = service.image if image is KEEP else image
    image = service_validate(
        app=service.app, name=name, image=image, registry_secret=registry_secret, service=service
    )
    before = {
        "name": service.name,
        "image": service.image,
        "registry_secret": service.registry_secret_id,
    }
    service.name, service.image, service.registry_secret = name, image, registry_secret
    after = {"name": name, "image": image, "registry_secret": getattr(registry_secret, "pk", None)}
    changed = sorted(field for field in before if before[field] != after[field])
    details: dict[str, Any] = {
        "app": service.app.name,
        "changed_fields": changed,
        "image": image,
        "registry_secret": registry_secret.name if registry_secret else None,
    }
    try:
        with transaction.atomic():
            if changed:
                deployment = _deploy(service, registry_secret)
                details.update(deployment=str(deployment.pk), version=deployment.version)
            service.save()
            audit_record(
                action="service.updated",
                organization=service.organization,
                actor=actor,
                obj=service,
                request=request,
                details=details,
            )
    except IntegrityError:
        raise ValidationError(
            {"name": [f"A service named “{name}” already exists in {service.app.name}."]}
        )
    return service


@transaction.atomic
def service_switch_secret(
    *,
    service: Service,
    registry_secret: Secret | None,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> Service:
    """Point a service at another secret (None: a public image), keeping its name and
    image as stored now: the one-click switch of the secret pages. Same rules and
    audit as service_update; the row is read under its lock, so a concurrent rename
    is kept rather than undone.
    """
    registry_secret = _lock_app_and_secret(service.app, registry_secret)
    current = Service.objects.select_for_update(of=("self",)).get(pk=service.pk)
    return service_update(
        service=current,
        name=current.name,
        image=current.image,
        registry_secret=registry_secret,
        actor=actor,
        request=request,
    )


class PullSecretUnavailable(ValueError):
    """The service has no secret, none of the secret's registries serves its image,
    or no login can be made for it now (a failed mint, or a long-lived login asked of
    an ECR secret); the message says which."""


@dataclass(frozen=True)
class PullSecret:
    """A service's pull secret: the Docker config document, and when the minted token
    in it expires (None: the stored login, which lasts as long as the credential)."""

    config: dict[str, Any] = field(repr=False)
    expires_at: datetime.datetime | None = None


@sensitive_variables("login", "config", "auths")
def service_pull_secret(
    *,
    service: Service,
    format: str = "dockerconfigjson",
    long_lived: bool = False,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> PullSecret:
    """The Docker config document the platform pulls ``service``'s image with.

    Takes the secret's login from ``minting.secret_login_config`` (decrypted in
    memory; a fresh token for ECR and GCP secrets, or with ``long_lived`` GCP's
    stored ``_json_key`` login), keeps only the registries that serve the image,
    and audits the export. Raises PullSecretUnavailable, or DecryptionError when the
    ciphertext cannot be opened.
    """
    secret = service.registry_secret
    if secret is None:
        raise PullSecretUnavailable(f"Service {service} has no registry secret (public image).")
    try:
        login = secret_login_config(
            secret=secret, actor=actor, request=request, long_lived=long_lived
        )
    except LongLivedUnavailable as exc:
        raise PullSecretUnavailable(f"Secret “{secret.name}”: {exc}") from None
    except MintingError as exc:
        raise PullSecretUnavailable(
            f"No token could be minted for secret “{secret.name}” ({exc.code}): {exc.reason}"
        ) from None
    config = login.config
    try:
        keys = [c.server for c in credentials_for_image(config, service.image)]
    except ValueError as exc:  # a malformed image or document: say which, never what
        raise PullSecretUnavailable(f"Service {service}: {exc}")
    if not keys:
        raise PullSecretUnavailable(
            f"No registry of secret “{secret.name}” serves the image of service {service}."
        )
    auths = config["auths"]
    details: dict[str, Any] = {"service": str(service), "format": format, "registries": keys}
    if login.expires_at is not None:
        details["token_expires_at"] = login.expires_at.isoformat()
    if long_lived:
        details["long_lived"] = True
    audit_record(
        action="secret.exported",
        organization=service.organization,
        actor=actor,
        obj=secret,
        request=request,
        details=details,
    )
    return PullSecret({"auths": {key: auths[key] for key in keys}}, login.expires_at)

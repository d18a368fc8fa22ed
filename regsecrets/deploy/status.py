"""What a service's, an app's and a deployment's status say, for a catalogue that runs nothing.

regsecrets starts no instance, so Koyeb's statuses cannot describe running
containers here. What it does know is whether a service's image can be pulled
with the credentials it names: the scheduled checks keep each secret's health
(``registry_secrets.health``). The one rule, used by the API's replies and its
``statuses`` filters alike:

* a service without a secret (a public image) is HEALTHY: nothing of ours can fail;
* with a secret, the secret's health decides: HEALTHY → HEALTHY, EXPIRING →
  DEGRADED (works, expires within days), FAILING → UNHEALTHY, not checked yet →
  STARTING (the first check is due, like Koyeb's instances before their first
  health check);
* an app is the worst of its services (UNHEALTHY, DEGRADED, STARTING, HEALTHY in
  that order); an app without services is HEALTHY;
* a service's latest deployment has its service's status; earlier ones STOPPED
  (replaced).

The other Koyeb statuses (DELETING, DELETED, PAUSING, PAUSED, RESUMING, and a
deployment's PENDING, PROVISIONING, …) never apply: a filter on them matches nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from regsecrets.deploy.models import App, Service
from regsecrets.registry_secrets.models import HealthStatus

HEALTHY = "HEALTHY"
DEGRADED = "DEGRADED"
UNHEALTHY = "UNHEALTHY"
STARTING = "STARTING"
STOPPED = "STOPPED"

# Koyeb's enums, as its SDK checks them (koyeb.api.models.ServiceStatus, AppStatus,
# DeploymentStatus): values a filter may name.
SERVICE_STATUSES = (
    "STARTING", "HEALTHY", "DEGRADED", "UNHEALTHY",
    "DELETING", "DELETED", "PAUSING", "PAUSED", "RESUMING",
)  # fmt: skip
APP_STATUSES = SERVICE_STATUSES
DEPLOYMENT_STATUSES = (
    "PENDING", "PROVISIONING", "SCHEDULED", "CANCELING", "CANCELED", "ALLOCATING",
    "STARTING", "HEALTHY", "DEGRADED", "UNHEALTHY", "STOPPING", "STOPPED",
    "ERRORING", "ERROR", "STASHED", "SLEEPING",
)  # fmt: skip

# The rule: a secret's health → its services' status; no secret → NO_SECRET.
BY_SECRET_HEALTH: Mapping[str, str] = {
    HealthStatus.HEALTHY: HEALTHY,
    HealthStatus.EXPIRING: DEGRADED,
    HealthStatus.FAILING: UNHEALTHY,
    HealthStatus.UNKNOWN: STARTING,
}
NO_SECRET = HEALTHY
# Worst first: an app shows the first of these that one of its services has.
SEVERITY = (UNHEALTHY, DEGRADED, STARTING, HEALTHY)

_WHY = {
    HEALTHY: "The registry secret “{name}” passed its last check.",
    DEGRADED: "The registry secret “{name}” expires soon.",
    UNHEALTHY: "The registry secret “{name}” fails its checks ({code}).",
    STARTING: "The registry secret “{name}” has not been checked yet.",
}


def service_status(service: Service) -> tuple[str, list[str]]:
    """The service's status and the message that explains it.

    Reads ``service.registry_secret`` (load it with ``select_related``).
    """
    secret = service.registry_secret
    if secret is None:
        return NO_SECRET, ["Public image: no registry secret to check."]
    status = BY_SECRET_HEALTH.get(secret.health_status, STARTING)
    code = secret.health_code or "no code"
    return status, [_WHY[status].format(name=secret.name, code=code)]


def service_status_q(statuses: Iterable[str], *, prefix: str = "") -> Q:
    """Services (at ``prefix``, e.g. ``"service__"``) whose status is one of ``statuses``."""
    wanted = set(statuses)
    healths = [health for health, status in BY_SECRET_HEALTH.items() if status in wanted]
    match = Q(pk__in=[])  # matches nothing: the statuses that never apply here
    if healths:
        match |= Q(**{f"{prefix}registry_secret__health_status__in": healths})
    if NO_SECRET in wanted:
        match |= Q(**{f"{prefix}registry_secret__isnull": True})
    return match


def worst(statuses: Iterable[str]) -> str:
    """The most severe of ``statuses`` (HEALTHY for none)."""
    present = set(statuses)
    return next((status for status in SEVERITY if status in present), HEALTHY)


def _count_name(status: str) -> str:
    return f"services_{status.lower()}"


def with_app_status(apps: QuerySet[App]) -> QuerySet[App]:
    """Annotate each app with how many of its services have each status.

    Correlated subqueries rather than a join and GROUP BY: the page stays one query,
    and the list's count (which drops unused annotations) stays a plain COUNT.
    """

    def count(status: str) -> Coalesce:
        services = (
            Service.objects.filter(app=OuterRef("pk"))
            .filter(service_status_q([status]))
            .order_by()
            .values("app")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(services, output_field=IntegerField()), 0)

    return apps.annotate(**{_count_name(status): count(status) for status in SEVERITY})


def app_status(app: App) -> tuple[str, list[str]]:
    """An app's status and its explanation, from ``with_app_status``'s counts."""
    counts = {status: int(getattr(app, _count_name(status))) for status in SEVERITY}
    total = sum(counts.values())
    if total == 0:
        return HEALTHY, ["No services."]
    status = worst(status for status, count in counts.items() if count)
    if status == HEALTHY:
        return HEALTHY, []
    return status, [f"{counts[status]} of {total} services {status}."]


def deployment_status(service: Service, *, latest: bool) -> tuple[str, list[str]]:
    """A deployment's status: its service's for the latest, STOPPED (replaced) otherwise."""
    if not latest:
        return STOPPED, ["Replaced by a later deployment."]
    return service_status(service)


def deployment_status_q(statuses: Iterable[str]) -> Q:
    """Deployments whose status (``deployment_status``) is one of ``statuses``."""
    wanted = set(statuses)
    latest = Q(service__latest_deployment_id=F("pk"))
    match = Q(pk__in=[])
    service_match = wanted & set(SEVERITY)
    if service_match:
        match |= latest & service_status_q(service_match, prefix="service__")
    if STOPPED in wanted:
        match |= ~latest
    return match

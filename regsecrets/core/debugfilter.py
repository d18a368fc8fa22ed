"""The exception reporter filter: credentials stay out of error reports, debug or not.

Django's ``SafeExceptionReporterFilter`` switches itself off when DEBUG is on
(``is_active`` returns ``settings.DEBUG is False``), so the technical 500 page a
developer or a misconfigured server shows would print the submitted password in
its POST table and its frames' local variables. This filter never switches off.
On top of Django's rules (``@sensitive_post_parameters``, ``@sensitive_variables``,
settings and headers whose names look secret) it cleanses:

- POST values whose name is a credential field of any provider, or looks like one
  (password, token, secret, auth, key, config, json, ...), on every path;
- every POST value and every frame variable of requests to the paths that take
  credentials (secrets, the inline secret form, the API, accounts, the admin), so
  a field or variable nobody thought to name cannot carry one out;
- elsewhere, frame variables by the same names, and dictionaries, lists and
  tuples key by key.

The admin mails (``AdminEmailHandler``) and the debug page both build their report
through this filter (``DEFAULT_EXCEPTION_REPORTER_FILTER``).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from django.views.debug import SafeExceptionReporterFilter

from regsecrets.registries.providers import PROVIDERS

# Names that carry a credential, whatever form or view they come from.
CREDENTIAL_NAME = re.compile(
    r"pass|secret|token|auth|key|credential|config|json|cookie|session|signature|private",
    re.IGNORECASE,
)
# Request paths whose bodies may hold a credential: every value is hidden there.
CREDENTIAL_PATHS = re.compile(
    r"^/(?:secrets/|services/inline-secret/|v1(?:/|$)|accounts/|account/|admin/)"
)


@functools.cache
def provider_secret_fields() -> frozenset[str]:
    """Every provider's write-only field names, from the catalogue itself."""
    return frozenset(name for provider in PROVIDERS for name in provider.secret_fields)


def is_credential_name(name: object) -> bool:
    return isinstance(name, str) and (
        name in provider_secret_fields() or CREDENTIAL_NAME.search(name) is not None
    )


def is_credential_request(request: HttpRequest | None) -> bool:
    return request is not None and bool(CREDENTIAL_PATHS.match(request.path_info or ""))


class CredentialReporterFilter(SafeExceptionReporterFilter):
    def is_active(self, request: HttpRequest | None) -> bool:
        # Active in debug too: a debug page is still seen by people (and screenshots).
        return True

    def _cleansed_post(self, request: HttpRequest | None, values: MultiValueDict) -> Any:
        hide_all = is_credential_request(request) or (
            getattr(request, "sensitive_post_parameters", None) == "__ALL__"
        )
        named = set(getattr(request, "sensitive_post_parameters", None) or ())
        cleansed = values.copy()
        for name in cleansed:
            if hide_all or name in named or is_credential_name(name):
                cleansed.setlist(name, [self.cleansed_substitute])
        return cleansed

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        if request is None:
            return {}
        return self._cleansed_post(request, request.POST)

    def get_cleansed_multivaluedict(self, request: HttpRequest | None, multivaluedict: Any) -> Any:
        # Any QueryDict in a frame (request.POST, a form's data) gets the POST rules.
        return self._cleansed_post(request, multivaluedict)

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        if is_credential_request(request):
            return [(name, self.cleansed_substitute) for name, _ in variables]
        return [(name, self._cleanse_variable(name, value)) for name, value in variables]

    def _cleanse_variable(self, name: str, value: Any) -> Any:
        if isinstance(value, MultiValueDict) or (
            isinstance(value, str) and value == self.cleansed_substitute
        ):
            return value  # already cleansed by the rules above
        return self._cleanse_by_name(name, value)

    def _cleanse_by_name(self, name: Any, value: Any) -> Any:
        """Hide ``value`` if ``name`` is a credential's; look inside containers by key."""
        if is_credential_name(name) or (
            isinstance(name, str) and self.hidden_settings.search(name)
        ):
            return self.cleansed_substitute
        if isinstance(value, dict):
            return {k: self._cleanse_by_name(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._cleanse_by_name("", v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._cleanse_by_name("", v) for v in value)
        return value

"""What a check's result code means to a person, and what to do about it.

The verification client, token minting and the health checks answer with codes
(``AUTH_ACCESS_DENIED``, ``MINT_DENIED``, ``EXPIRED``…) and a reason. Pages show a
sentence first and the code only as a secondary detail: the short problem (for
one-line summaries such as the Activity page) and the next step come from here,
one table for every face. Words for users: no setting names, commands or key ids
(operator advice lives in the admin and the docs).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Outcome", "outcome_for"]


@dataclass(frozen=True)
class Outcome:
    problem: str  # a short clause: "the registry rejected the credentials"
    next_step: str  # a sentence: what the user can do


_OUTCOMES = {
    "AUTH_ACCESS_DENIED": Outcome(
        "the registry rejected the credentials",
        "Check the username and the token or password, and that the token may pull "
        "images; then edit the secret and type the new credentials.",
    ),
    "ANON_ACCESS_DENIED": Outcome(
        "the registry needs credentials",
        "Choose a registry secret for this registry, or create one.",
    ),
    "AUTH_NOT_FOUND": Outcome(
        "the image was not found",
        "Check the repository name and the tag; the credentials may also lack access "
        "to this repository.",
    ),
    "ANON_NOT_FOUND": Outcome(
        "the image was not found",
        "Check the repository name and the tag. If the image is private, choose a registry secret.",
    ),
    "REGISTRY_ERROR": Outcome(
        "the registry answered with an error",
        "The registry may be down or not a Docker registry; check its address and try again later.",
    ),
    "TIMEOUT": Outcome(
        "the registry did not answer in time",
        "Try again in a moment; if it keeps happening, check the registry's address.",
    ),
    "DNS": Outcome(
        "the registry's host name does not exist",
        "Check the spelling of the registry's address.",
    ),
    "MALFORMED": Outcome(
        "the address or answer is not valid",
        "Check the image reference or the registry's address.",
    ),
    "INVALID_SCHEME": Outcome(
        "the registry must use HTTPS",
        "Use the registry's https:// address.",
    ),
    "TLS": Outcome(
        "the secure connection failed",
        "The registry's certificate is not trusted or does not match its name; check the address.",
    ),
    "FORBIDDEN_ADDRESS": Outcome(
        "the registry is on a private network",
        "Registries on private or local networks are not checked from here; ask your "
        "operator if yours should be.",
    ),
    "MINT_INVALID_KEY": Outcome(
        "the stored key is not valid",
        "Edit the secret and enter the access key or key file again.",
    ),
    "MINT_DENIED": Outcome(
        "the cloud provider refused the key",
        "Check that the key is active and may read the registry (for example the "
        "pull or reader role), then edit the secret if it changed.",
    ),
    "MINT_UNREACHABLE": Outcome(
        "the cloud provider could not be reached",
        "Try again in a moment.",
    ),
    "MINT_TIMEOUT": Outcome(
        "the cloud provider did not answer in time",
        "Try again in a moment.",
    ),
    "MINT_FORBIDDEN_ENDPOINT": Outcome(
        "the key names a token service that is not allowed",
        "Create a new key with the cloud provider's console and edit the secret.",
    ),
    "MINT_ERROR": Outcome(
        "the cloud provider answered with an error",
        "Try again later.",
    ),
    "EXPIRED": Outcome(
        "the credentials have expired",
        "Create a new token or password with the registry, then edit the secret and "
        "set its new expiry date.",
    ),
    "UNDECRYPTABLE": Outcome(
        "the stored credentials cannot be decrypted",
        "Ask your operator to restore the encryption key, or delete the secret and "
        "create it again.",
    ),
}

_UNKNOWN = Outcome("the check failed", "Try again, or edit the secret's credentials.")


def outcome_for(code: str) -> Outcome:
    """The words for a failure code; a generic failure for a code this table lacks."""
    return _OUTCOMES.get(code, _UNKNOWN)

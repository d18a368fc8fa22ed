"""Amazon ECR: a 12-hour docker password from an IAM access key (optionally via a role).

The flow is the one ``aws ecr get-login-password`` runs: with the stored access key
(after ``sts:AssumeRole`` when a role ARN is given, for cross-account pulls), call
``ecr:GetAuthorizationToken`` for the one registry the secret names. The answer is
``base64("AWS:" + password)`` and an expiry.

boto3 is used rather than hand-signed requests because SigV4 signing, the regional
endpoints and the standard endpoint overrides (``AWS_ENDPOINT_URL``,
``AWS_ENDPOINT_URL_ECR``, ``AWS_ENDPOINT_URL_STS``, honoured by botocore itself) are
exactly what it is for. Every call is bounded: connect and read timeouts and a
single attempt, so a click or a health check never waits through a retry storm.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from .base import (
    MINT_DENIED,
    MINT_ERROR,
    MINT_INVALID_KEY,
    MINT_TIMEOUT,
    MINT_UNREACHABLE,
    MintedToken,
    MintingError,
    scrub,
)

__all__ = [
    "ECR_TOKEN_LIFETIME",
    "ECR_USERNAME",
    "ROLE_SESSION_SECONDS",
    "ecr_field_errors",
    "ecr_host",
    "mint_ecr_token",
]

ECR_USERNAME = "AWS"
# Documented by AWS ("valid for 12 hours"); also the ceiling we accept from an answer.
ECR_TOKEN_LIFETIME = timedelta(hours=12)
# One hour: the longest session AWS grants by default, and for role chaining.
ROLE_SESSION_SECONDS = 3600
ROLE_SESSION_NAME = "regsecrets"

_REGION_RE = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}")
_REGISTRY_ID_RE = re.compile(r"[0-9]{12}")
_ACCESS_KEY_ID_RE = re.compile(r"[A-Z0-9]{16,128}")
_ROLE_ARN_RE = re.compile(r"arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}")

# Error codes AWS uses when it does not accept the key itself, and when the key is
# valid but lacks a permission. Matched against the code and, for emulators that
# wrap their errors, the raw message; never copied into a reason.
_UNKNOWN_KEY_CODES = ("InvalidClientTokenId", "UnrecognizedClientException")
_WRONG_SECRET_CODES = ("SignatureDoesNotMatch", "InvalidSignatureException")
_EXPIRED_CODES = ("ExpiredToken", "ExpiredTokenException", "RequestExpired")
_ACCESS_DENIED_CODES = ("AccessDenied", "AccessDeniedException")
_THROTTLED_CODES = ("Throttling", "ThrottlingException", "TooManyRequestsException")


def ecr_host(registry_id: str, region: str) -> str:
    """The private registry of an account in a region (China regions have their own domain)."""
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{registry_id}.dkr.ecr.{region}.{domain}"


def ecr_field_errors(
    *, access_key_id: str, secret_access_key: str, region: str, registry_id: str, role_arn: str = ""
) -> dict[str, str]:
    """Field name -> what is wrong, for the provider's form and for minting alike.

    The region becomes part of a hostname: it is checked before anything is sent.
    """
    errors = {}
    if not _ACCESS_KEY_ID_RE.fullmatch(access_key_id or ""):
        errors["access_key_id"] = "The access key ID is 16 to 128 capital letters and digits."
    if not secret_access_key:
        errors["secret_access_key"] = "Enter the secret access key."
    if not _REGION_RE.fullmatch(region or ""):
        errors["region"] = "Enter an AWS region name such as eu-west-1."
    if not _REGISTRY_ID_RE.fullmatch(registry_id or ""):
        errors["registry_id"] = "Enter the registry's 12-digit AWS account ID."
    if role_arn and not _ROLE_ARN_RE.fullmatch(role_arn):
        errors["role_arn"] = "Enter a role ARN of the form arn:aws:iam::ACCOUNT:role/NAME."
    return errors


def _config(timeout: float) -> Config:
    return Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"total_max_attempts": 1, "mode": "standard"},
        user_agent_extra="regsecrets",
    )


def _client_error(exc: ClientError, doing: str, needs: str) -> MintingError:
    error = exc.response.get("Error") or {}
    status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0
    text = f"{error.get('Code', '')} {error.get('Message', '')}"

    def said(codes: tuple[str, ...]) -> bool:
        return any(code in text for code in codes)

    if said(_UNKNOWN_KEY_CODES):
        return MintingError(
            MINT_DENIED,
            f"AWS does not recognise the access key ID ({doing}): it may have been deleted, "
            "deactivated or mistyped.",
        )
    if said(_WRONG_SECRET_CODES):
        return MintingError(
            MINT_DENIED,
            f"AWS rejected the secret access key ({doing}): it does not belong to the "
            "access key ID.",
        )
    if said(_EXPIRED_CODES):
        return MintingError(MINT_DENIED, f"AWS says the credentials have expired ({doing}).")
    if said(_ACCESS_DENIED_CODES) or status == 403:
        return MintingError(MINT_DENIED, f"AWS denied {doing}: the key needs {needs}.")
    if said(_THROTTLED_CODES) or status == 429:
        return MintingError(MINT_ERROR, f"AWS is throttling requests ({doing}); try again later.")
    return MintingError(MINT_ERROR, f"AWS answered HTTP {status or 'without a status'} ({doing}).")


def _call(what: str, needs: str, endpoint: str, function: Any, **kwargs: Any) -> Any:
    """Run one AWS call, turning every botocore failure into a MintingError."""
    try:
        return function(**kwargs)
    except ClientError as exc:
        raise _client_error(exc, what, needs) from None
    except (ConnectTimeoutError, ReadTimeoutError):
        raise MintingError(MINT_TIMEOUT, f"{endpoint} did not answer in time ({what}).") from None
    except (EndpointConnectionError, BotoConnectionError):
        raise MintingError(MINT_UNREACHABLE, f"Could not connect to {endpoint} ({what}).") from None
    except BotoCoreError as exc:
        raise MintingError(
            MINT_ERROR, f"The AWS client failed ({what}): {type(exc).__name__}."
        ) from None


def _endpoint_name(client: Any) -> str:
    # The host only: an override may carry a path or query we do not echo.
    url = str(getattr(client.meta, "endpoint_url", "") or "")
    return url.split("://", 1)[-1].split("/", 1)[0] or "AWS"


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def mint_ecr_token(
    *,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    registry_id: str,
    role_arn: str = "",
    timeout: float = 10.0,
    now: datetime | None = None,
) -> MintedToken:
    """A docker login for ``registry_id``'s ECR registry in ``region``.

    ``expires_at`` is the earliest of AWS's stated expiry, 12 hours (the documented
    lifetime, never exceeded), and the assumed role's session end. An answer whose
    expiry is not after the time of asking (clock skew, or an emulator such as moto,
    which states a fixed date in 2015) gets the documented 12 hours.
    """
    access_key_id = (access_key_id or "").strip()
    region = (region or "").strip()
    registry_id = (registry_id or "").strip()
    role_arn = (role_arn or "").strip()
    errors = ecr_field_errors(
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        region=region,
        registry_id=registry_id,
        role_arn=role_arn,
    )
    if errors:
        raise MintingError(
            MINT_INVALID_KEY, "Cannot mint an ECR token: " + " ".join(errors.values())
        )
    issued_at = now or datetime.now(UTC)
    host = ecr_host(registry_id, region)
    secrets = [secret_access_key]
    try:
        session = boto3.session.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region,
        )
        config = _config(timeout)
        session_end: datetime | None = None
        if role_arn:
            sts = session.client("sts", config=config)
            assumed = _call(
                f"assuming {role_arn}",
                "sts:AssumeRole on the role, and the role must trust the key's account",
                _endpoint_name(sts),
                sts.assume_role,
                RoleArn=role_arn,
                RoleSessionName=ROLE_SESSION_NAME,
                DurationSeconds=ROLE_SESSION_SECONDS,
            )
            credentials = assumed.get("Credentials") or {}
            secrets += [credentials.get("SecretAccessKey", ""), credentials.get("SessionToken", "")]
            if not all(
                credentials.get(name) for name in ("AccessKeyId", "SecretAccessKey", "SessionToken")
            ):
                raise MintingError(MINT_ERROR, "AWS STS answered without temporary credentials.")
            session_end = _aware(credentials.get("Expiration"))
            session = boto3.session.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name=region,
            )
        ecr = session.client("ecr", config=config)
        answer = _call(
            "ecr:GetAuthorizationToken",
            "ecr:GetAuthorizationToken (and BatchGetImage, GetDownloadUrlForLayer to pull)",
            _endpoint_name(ecr),
            ecr.get_authorization_token,
            registryIds=[registry_id],
        )
    except MintingError as exc:
        raise MintingError(exc.code, scrub(exc.reason, secrets)) from None
    except BotoCoreError as exc:  # session or client set-up (a broken AWS profile, say)
        raise MintingError(
            MINT_ERROR, f"The AWS client could not be set up: {type(exc).__name__}."
        ) from None
    password, stated = _read_answer(answer)
    expires_at = issued_at + ECR_TOKEN_LIFETIME
    if stated is not None and stated > issued_at:
        expires_at = min(expires_at, stated)
    if session_end is not None:
        # A token minted with temporary credentials stops working when they do.
        expires_at = min(expires_at, session_end)
    return MintedToken(
        username=ECR_USERNAME,
        password=password,
        expires_at=expires_at,
        issued_at=issued_at,
        host=host,
    )


def _read_answer(answer: Any) -> tuple[str, datetime | None]:
    data = (answer or {}).get("authorizationData") or []
    entry = data[0] if data and isinstance(data[0], dict) else {}
    try:
        decoded = base64.b64decode(entry.get("authorizationToken") or "", validate=True).decode()
    except (binascii.Error, ValueError):
        decoded = ""
    username, sep, password = decoded.partition(":")
    if not sep or username != ECR_USERNAME or not password:
        raise MintingError(MINT_ERROR, "AWS ECR answered without a usable authorization token.")
    return password, _aware(entry.get("expiresAt"))

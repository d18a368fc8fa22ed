"""Reading Koyeb's CreateService and UpdateService bodies into what ``deploy.services`` takes.

Only a definition's ``name`` and ``docker`` (``image``, ``image_registry_secret``)
mean something here; Koyeb's other definition fields (ports, env, scaling, …) are
accepted and ignored, sources other than Docker are refused. An update follows
the secrets' rules: PUT replaces the definition (an absent secret removes it),
PATCH changes only what the body carries, and ``update_mask`` limits either to
the paths it names (a named path the body leaves out is cleared, or required).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from regsecrets.api import errors, parsing
from regsecrets.deploy.services import KEEP

NAME = "definition.name"
IMAGE = "definition.docker.image"
SECRET = "definition.docker.image_registry_secret"
# What each update_mask path stands for.
MASK_PATHS: Mapping[str, tuple[str, ...]] = {
    "definition": (NAME, IMAGE, SECRET),
    "definition.docker": (IMAGE, SECRET),
    NAME: (NAME,),
    IMAGE: (IMAGE,),
    SECRET: (SECRET,),
    "life_cycle": (),  # checked wherever it appears
}
UNSUPPORTED_SOURCES = ("git", "database", "archive")
LIFE_CYCLE_FIELDS = ("delete_after_sleep", "delete_after_create")
NEVER_DELETES = "regsecrets never deletes a service by itself: only 0 (never) is accepted."


@dataclass(frozen=True)
class Definition:
    """Each part is a value, or KEEP (leave as stored); ``secret_name`` "" removes the secret."""

    name: Any = KEEP
    image: Any = KEEP
    secret_name: Any = KEEP


def refuse_dry_run(request: Any) -> None:
    """``dry_run`` is a boolean; true asks for what regsecrets does not do."""
    value = request.GET.get("dry_run", "").lower()
    if value in ("1", "true"):
        raise errors.field_error("dry_run", "Dry runs are not supported.")
    if value not in ("", "0", "false"):
        raise errors.field_error("dry_run", "Must be true or false.")


def check_life_cycle(value: Any) -> None:
    """Koyeb's ServiceLifeCycle asks for automatic deletion, which regsecrets never does."""
    life_cycle = parsing.obj(value, "life_cycle")
    for key, item in (life_cycle or {}).items():
        path = f"life_cycle.{key}"
        if key not in LIFE_CYCLE_FIELDS:
            raise errors.field_error(path, "Unknown field.")
        if item is not None and (isinstance(item, bool) or not isinstance(item, int | str)):
            raise errors.field_error(path, "Must be an integer.")
        if item not in (None, 0, "0"):
            raise errors.field_error(path, NEVER_DELETES)


def _check_ignored(body: dict[str, Any], definition: dict[str, Any] | None) -> None:
    """Koyeb's fields that mean nothing here are ignored, but must still be what Koyeb
    says they are (a client sending a string for a boolean has a bug worth hearing of)."""
    for key in ("skip_build", "save_only"):
        if body.get(key) is not None and not isinstance(body[key], bool):
            raise errors.field_error(key, "Must be true or false.")
    parsing.obj(body.get("metadata"), "metadata")
    if definition is not None:
        parsing.text(definition.get("type"), "definition.type")


def _docker(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition's docker object ({} when absent), refusing other sources."""
    for source in UNSUPPORTED_SOURCES:
        if definition.get(source) is not None:
            raise errors.field_error(
                f"definition.{source}", "Only Docker image sources are supported."
            )
    return parsing.obj(definition.get("docker"), "definition.docker") or {}


def _given(body: dict[str, Any]) -> dict[str, Any]:
    """The body's values by path, for the paths it carries (a null is carried too)."""
    definition = parsing.obj(body.get("definition"), "definition")
    if definition is None:
        return {}
    docker = _docker(definition)
    given: dict[str, Any] = {}
    if "name" in definition:
        given[NAME] = definition["name"]
    if "image" in docker:
        given[IMAGE] = docker["image"]
    if "image_registry_secret" in docker:
        given[SECRET] = docker["image_registry_secret"]
    return given


def _value(path: str, value: Any) -> Any:
    if path == SECRET:
        return parsing.text(value, path) or ""
    return parsing.text(value, path, required=True)


def create_definition(body: dict[str, Any]) -> tuple[Definition, str]:
    """A CreateService's definition, and the path its service name came from
    (``name`` at the top, as some clients send it, or ``definition.name``)."""
    definition = parsing.obj(body.get("definition"), "definition")
    if definition is None:
        raise errors.field_error("definition", "This field is required.")
    docker = _docker(definition)
    _check_ignored(body, definition)
    image = parsing.text(docker.get("image"), IMAGE, required=True)
    secret_name = parsing.text(docker.get("image_registry_secret"), SECRET) or ""
    name = parsing.text(body.get("name"), "name")
    name_path = "name"
    if not name:
        name = parsing.text(definition.get("name"), NAME)
        name_path = NAME
    check_life_cycle(body.get("life_cycle"))
    return Definition(name=name or "", image=image, secret_name=secret_name), name_path


def update_definition(body: dict[str, Any], mask: list[str] | None, *, partial: bool) -> Definition:
    """An UpdateService's change: PUT (``partial=False``) or PATCH, limited by ``mask``."""
    given = _given(body)
    for path, value in given.items():  # what the body carries is checked, masked or not
        parsing.text(value, path)
    _check_ignored(body, parsing.obj(body.get("definition"), "definition"))
    check_life_cycle(body.get("life_cycle"))
    if mask is None:
        if partial:
            paths: tuple[str, ...] = tuple(given)
        else:
            if parsing.obj(body.get("definition"), "definition") is None:
                raise errors.field_error("definition", "Send the definition to replace.")
            paths = (NAME, IMAGE, SECRET)
    else:
        named: list[str] = []
        for path in mask:
            if path not in MASK_PATHS:
                raise errors.field_error(
                    "update_mask", f"Unknown path {path[:80]!r} for a service."
                )
            named.extend(MASK_PATHS[path])
        paths = tuple(dict.fromkeys(named))
    values = {path: _value(path, given.get(path)) for path in paths}
    return Definition(
        name=values.get(NAME, KEEP),
        image=values.get(IMAGE, KEEP),
        secret_name=values.get(SECRET, KEEP),
    )

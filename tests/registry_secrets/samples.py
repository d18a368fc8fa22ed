"""Valid and invalid form input for every provider, shared by view and browser tests.

Every valid credential embeds CANARY, so a test can check that it never comes back.
"""

from __future__ import annotations

import base64
import json

from tests.conftest import CANARY

GCP_KEY = json.dumps(
    {
        "type": "service_account",
        "project_id": "demo-project",
        "private_key_id": "0123456789abcdef",
        "private_key": f"-----BEGIN PRIVATE KEY-----\nMIIE{CANARY}\n-----END PRIVATE KEY-----\n",
        "client_email": "puller@demo-project.iam.gserviceaccount.com",
        "client_id": "1234567890",
    }
)

ECR_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example key ID

DOCKER_CONFIG = json.dumps(
    {
        "auths": {
            "registry.example.com": {
                "auth": base64.b64encode(f"robot:{CANARY}".encode()).decode()
            },
            "quay.io": {"username": "quayrobot", "password": CANARY},
        }
    }
)

# slug -> (form data, expected hosts as displayed, expected username)
VALID = {
    "docker-hub": ({"username": "octocat", "password": CANARY}, ["docker.io"], "octocat"),
    "github": ({"username": "octocat", "password": f"ghp_{CANARY}"}, ["ghcr.io"], "octocat"),
    "gitlab": (
        {"username": "gitlab+deploy-token-7", "password": CANARY, "url": ""},
        ["registry.gitlab.com"],
        "gitlab+deploy-token-7",
    ),
    "digital-ocean": ({"password": f"dop_v1_{CANARY}"}, ["registry.digitalocean.com"], ""),
    "azure": (
        {"registry_name": "myregistry", "username": "myregistry", "password": CANARY},
        ["myregistry.azurecr.io"],
        "myregistry",
    ),
    "gcp": (
        {"url": "europe-west1-docker.pkg.dev", "keyfile_content": GCP_KEY},
        ["europe-west1-docker.pkg.dev"],
        "puller@demo-project.iam.gserviceaccount.com",  # the service account, not _json_key
    ),
    "aws-ecr": (
        {
            "access_key_id": ECR_ACCESS_KEY_ID,
            "secret_access_key": f"wJalrXUtnFEMI/K7MDENG/{CANARY}",
            "region": "eu-west-1",
            "registry_id": "123456789012",
            "role_arn": "",
        },
        ["123456789012.dkr.ecr.eu-west-1.amazonaws.com"],
        ECR_ACCESS_KEY_ID,  # the key's ID is the clear username; its secret never shows
    ),
    "private": (
        {"url": "registry.example.com:5000", "username": "deploy", "password": CANARY},
        ["registry.example.com:5000"],
        "deploy",
    ),
    "docker-config": (
        {"config": DOCKER_CONFIG},
        ["registry.example.com", "quay.io"],
        "robot",
    ),
}

# slug -> (form data, field expected to carry an error, kept non-secret value or None)
INVALID = {
    "docker-hub": ({"username": "me@example.com", "password": CANARY}, "username", "me@example.com"),
    "github": ({"username": "octocat", "password": f"github_pat_{CANARY}"}, "password", "octocat"),
    "gitlab": ({"username": "deployer", "password": CANARY, "url": "gitlab.com"}, "url", "deployer"),
    "digital-ocean": ({"password": f"dop v1 {CANARY}"}, "password", None),
    "azure": ({"registry_name": "ab", "username": "robot-user", "password": CANARY}, "registry_name", "robot-user"),
    "gcp": (
        {"url": "example.com", "keyfile_content": GCP_KEY},
        "url",
        "example.com",
    ),
    "aws-ecr": (
        {
            "access_key_id": ECR_ACCESS_KEY_ID,
            "secret_access_key": CANARY,
            "region": "eu-west-1",
            "registry_id": "12345",
            "role_arn": "",
        },
        "registry_id",
        ECR_ACCESS_KEY_ID,
    ),
    "private": (
        {"url": "registry.example.com", "username": "dep:loy", "password": CANARY},
        "username",
        "registry.example.com",
    ),
    "docker-config": ({"config": '{"auths": {"x": ' + json.dumps(CANARY)}, "config", None),
}

"""Secret hygiene: no secret value is ever written into a manifest.

- Every file of dist/ and the output of many generated configurations (the property-test strategies) are scanned
  for Secret objects carrying data, secret-looking environment variables with a literal value, and token patterns.
- The library has no API that writes a Secret, and every field that carries a secret accepts only a SecretKeyRef:
  a literal raises ConfigError naming the field, without repeating the value.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import re
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cdk8s
import pytest
import yaml
from hypothesis import HealthCheck, given, settings

import vllm_constructs
from tests.conftest import ROOT, chart_objects
from tests.strategies import ray_props, valid_props
from vllm_constructs import (
    ConfigError,
    EngineArgs,
    Image,
    ModelDownload,
    ModelInitJob,
    ModelInitJobProps,
    ModelSource,
    RayCluster,
    RayClusterProps,
    Resources,
    S3Credentials,
    SecretKeyRef,
    VllmServer,
    VllmServerProps,
    WorkloadLabels,
)

EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "200"))
SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSWORD|CREDENTIAL")
TOKEN_PATTERNS = {
    "Hugging Face token": re.compile(r"\bhf_[A-Za-z0-9]{30,}"),
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "OpenAI-style key": re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"),
    "GitHub token": re.compile(r"\b(ghp|gho|ghu|ghs|github_pat)_[A-Za-z0-9_]{30,}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}
BLOB = re.compile(r"^[A-Za-z0-9+/_-]{40,}={0,2}$")
DIST = sorted((ROOT / "dist").glob("*.yaml"))


def _env_lists(node: Any) -> Iterator[list[dict[str, Any]]]:
    if isinstance(node, dict):
        if isinstance(node.get("env"), list):
            yield node["env"]
        for value in node.values():
            yield from _env_lists(value)
    elif isinstance(node, list):
        for value in node:
            yield from _env_lists(value)


def _looks_like_blob(value: str) -> bool:
    """A long base64/base64url run with mixed case and digits (a hex commit or digest is not one)."""
    return (
        bool(BLOB.match(value))
        and not re.fullmatch(r"[0-9a-f]+", value)
        and any(c.isupper() for c in value)
        and any(c.isdigit() for c in value)
    )


def secret_problems(objects: list[dict[str, Any]]) -> list[str]:
    """Every way the objects could carry a secret value."""
    problems = []
    for obj in objects:
        where = f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"
        if obj.get("kind") == "Secret" and (obj.get("data") or obj.get("stringData")):
            problems.append(f"{where}: Secret with data")
        for env_list in _env_lists(obj):
            for env in env_list:
                value = env.get("value")
                if not isinstance(value, str):
                    continue
                names_a_file = str(env.get("name", "")).endswith(("_PATH", "_FILE")) and value.startswith("/")
                if SECRET_NAME.search(str(env.get("name", ""))) and not names_a_file:
                    problems.append(f"{where}: {env['name']} has a literal value instead of valueFrom")
                if _looks_like_blob(value):
                    problems.append(f"{where}: {env.get('name')} holds a long base64 blob")
        text = yaml.safe_dump(obj)
        for what, pattern in TOKEN_PATTERNS.items():
            if pattern.search(text):
                problems.append(f"{where}: {what}")
    return problems


# --- the scanner itself finds what it looks for ------------------------------------------------------


def _pod(env: list[dict[str, Any]], args: tuple[str, ...] = ()) -> dict[str, Any]:
    container = {"name": "c", "image": "i:1", "env": env, "args": list(args)}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"template": {"spec": {"containers": [container]}}},
    }


@pytest.mark.parametrize(
    ("objects", "expected"),
    [
        ([{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"t": "x"}}], ["Secret/s: Secret with data"]),
        ([{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"t": "eA=="}}], ["Secret/s: Secret with data"]),
        ([{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque"}], []),
        ([_pod([{"name": "VLLM_API_KEY", "value": "abc"}])], ["Deployment/d: VLLM_API_KEY has a literal value instead of valueFrom"]),
        ([_pod([{"name": "DB_PASSWORD", "value": ""}])], ["Deployment/d: DB_PASSWORD has a literal value instead of valueFrom"]),
        ([_pod([{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "h", "key": "t"}}}])], []),
        ([_pod([{"name": "HF_TOKEN_PATH", "value": "/var/run/secrets/huggingface/token"}])], []),
        ([_pod([{"name": "HF_TOKEN_PATH", "value": "hf_abc"}])], ["Deployment/d: HF_TOKEN_PATH has a literal value instead of valueFrom"]),
        (
            [_pod([{"name": "BLOB", "value": "QWxhZGRpbjpvcGVuIHNlc2FtZQ0KQWxhZGRpbjpvcGVuIHNlc2FtZQ0K"}])],
            ["Deployment/d: BLOB holds a long base64 blob"],
        ),
        ([_pod([{"name": "REVISION", "value": "0e9e39f249a16976918f6564b8830bc894c89659"}])], []),
        ([_pod([], ("--hf-token", "hf_" + "a1B2" * 9))], ["Deployment/d: Hugging Face token"]),
        ([_pod([], ("AKIAIOSFODNN7EXAMPLE",))], ["Deployment/d: AWS access key id"]),
        ([_pod([], ("sk-" + "x" * 48,))], ["Deployment/d: OpenAI-style key"]),
        ([_pod([], ("ghp_" + "A" * 36,))], ["Deployment/d: GitHub token"]),
        ([_pod([], ("-----BEGIN RSA PRIVATE KEY-----\nMII...",))], ["Deployment/d: private key"]),
    ],
)
def test_the_scan_finds_secret_values(objects: list[dict[str, Any]], expected: list[str]) -> None:
    assert secret_problems(objects) == expected


# --- what the project writes ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", DIST, ids=[p.name for p in DIST])
def test_dist_carries_no_secret_value(path: Path) -> None:
    objects = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert objects
    assert secret_problems(objects) == []
    # the secrets the apps use are there, as references
    for env_list in _env_lists(objects):
        for env in env_list:
            if env["name"] == "HF_TOKEN_PATH":
                assert env["value"] == "/var/run/secrets/huggingface/token", env  # the projected Secret file
            elif SECRET_NAME.search(env["name"]):
                assert set(env) == {"name", "valueFrom"} and "secretKeyRef" in env["valueFrom"], env


def test_dist_has_every_app() -> None:
    assert len(DIST) >= 6


HYGIENE = settings(max_examples=max(EXAMPLES // 2, 50), deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def _chart() -> cdk8s.Chart:
    return cdk8s.Chart(cdk8s.App(), "c", namespace="ns", disable_resource_name_hashes=True)


@HYGIENE
@given(valid_props())
def test_generated_single_node_servers_carry_no_secret_value(props: VllmServerProps) -> None:
    chart = _chart()
    if props.model.accepts_token:  # hf_token is refused for sources that never use it
        props = dataclasses.replace(props, hf_token=SecretKeyRef("hf-token", "token"))
    VllmServer(chart, "s", props)
    assert secret_problems(chart_objects(chart)) == []


@HYGIENE
@given(ray_props())
def test_generated_multinode_servers_carry_no_secret_value(props: RayClusterProps) -> None:
    chart = _chart()
    RayCluster(chart, "r", props)
    assert secret_problems(chart_objects(chart)) == []


# --- the library has no way to write a secret ------------------------------------------------------------


def _secret_constants(source: str) -> list[tuple[int, str]]:
    """Line and value of every 'Secret' or 'stringData' constant, except the argument of ``_resource_name("Secret")``
    (the type of a field that names an existing Secret by reference)."""
    tree = ast.parse(source)
    references = {
        id(arg)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_resource_name"
        for arg in node.args
    }
    # a comparison reads a manifest's kind (e.g. which Secrets a rendered release contains); it emits nothing
    references |= {id(c) for node in ast.walk(tree) if isinstance(node, ast.Compare) for c in (node.left, *node.comparators)}
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in ("Secret", "stringData") and id(node) not in references
    ]


def test_the_source_scan_finds_an_emitted_secret() -> None:
    emitting = 'KubeObject("S", "v1", "Secret", "n", {}, {"stringData": {"t": "x"}})\nSecretName = _resource_name("Secret")\n'
    assert _secret_constants(emitting) == [(1, "Secret"), (1, "stringData")]
    assert _secret_constants('rendered = [d for d in docs if d.get("kind") == "Secret"]\n') == []


def test_library_source_never_emits_a_secret() -> None:
    """No module, the pure core included, emits kind Secret or writes data/stringData of one (ConfigMaps are the only
    data objects)."""
    package = Path(vllm_constructs.__file__).parent
    sources = sorted(package.rglob("*.py"))
    assert package / "core" / "server.py" in sources
    offenders = [
        f"{path.relative_to(package)}:{line}: {value!r}" for path in sources for line, value in _secret_constants(path.read_text())
    ]
    assert offenders == []


_SECRET_FIELD = re.compile(r"token|api_key|access_key|credential|password|secret")
# a flag, names of docker-registry and TLS Secrets (references by name), and where a tokenizer is read: none carries a secret value
_NOT_SECRET_VALUES = {"automount_service_account_token", "image_pull_secrets", "tls_secret", "tokenizer"}


def _public_value_classes() -> list[type[Any]]:
    """Every value and props class of the public API, with the kinds of the closed unions (ModelSource -> S3Model, ...)."""
    found: dict[str, type[Any]] = {}
    stack = [
        getattr(vllm_constructs, name) for name in vllm_constructs.__all__ if vllm_constructs._PUBLIC.get(name, "core.").startswith("core.")
    ]
    while stack:
        cls = stack.pop()
        if not isinstance(cls, type):
            continue
        stack.extend(cls.__subclasses__())
        exported = getattr(sys.modules[cls.__module__], cls.__name__, None) is cls  # not pydantic's intermediate class
        if dataclasses.is_dataclass(cls) and exported:
            found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return list(found.values())


def test_every_secret_field_of_the_public_api_is_a_reference() -> None:
    checked = []
    for cls in _public_value_classes():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if _SECRET_FIELD.search(f.name) and f.name not in _NOT_SECRET_VALUES:
                allowed = {a for a in typing.get_args(hints[f.name]) or (hints[f.name],) if a is not type(None)}
                assert allowed <= {SecretKeyRef, S3Credentials}, (cls.__name__, f.name, hints[f.name])
                checked.append(f"{cls.__name__}.{f.name}")
    assert sorted(checked) == [
        "HubTokenizer.token",
        "HuggingFaceModel.token",
        "RayClusterProps.api_key",
        "RayClusterProps.hf_token",
        "S3Credentials.access_key_id",
        "S3Credentials.secret_access_key",
        "S3Model.credentials",
        "ServingProps.api_key",
        "ServingProps.hf_token",
        "VllmServerProps.api_key",
        "VllmServerProps.hf_token",
    ]


# --- a literal where a secret goes raises ConfigError naming the field, without the value ---------------------

LEAK = "hf_" + "Q" * 34
HF = ModelSource.huggingface("org/model", revision="a" * 40)


def _server(**changes: Any) -> VllmServerProps:
    return VllmServerProps(**{"name": "llama", "model": HF, "resources": Resources(cpu="4", memory="16Gi", accelerators=1), **changes})


def _ray(**changes: Any) -> RayClusterProps:
    base = {
        "name": "llama",
        "model": HF,
        "engine": EngineArgs(tensor_parallel_size=8, pipeline_parallel_size=2),
        "resources": Resources(cpu="64", memory="900Gi"),
    }
    return RayClusterProps(**{**base, **changes})


def _not_a_reference(path: str, field: str, allowed: str = "a SecretKeyRef or None") -> str:
    return f"{path}: {field}=<str, redacted> is a str. Allowed: {allowed}. Fix: pass {allowed}."


LITERAL_SECRET = (
    "is a literal secret; it would be written into the manifests in clear text. Allowed: SecretKeyRef(secret_name, key) for secret "
    "values; literal strings only for non-secret settings. Fix: create the Secret outside the manifests (kubectl create secret "
    "generic ...) and pass SecretKeyRef(name, key)."
)
LITERAL_CASES = [
    ("VllmServer", lambda: _server(hf_token=LEAK), _not_a_reference("VllmServerProps", "hf_token")),
    ("VllmServer", lambda: _server(api_key=LEAK), _not_a_reference("VllmServerProps", "api_key")),
    (
        "VllmServer",
        lambda: _server(model=ModelSource.huggingface("org/model", revision="a" * 40, token=LEAK)),  # type: ignore[arg-type]
        _not_a_reference("HuggingFaceModel", "token"),
    ),
    (
        "VllmServer",
        lambda: _server(
            model=ModelSource.s3(
                "m",
                bucket="bucket",
                credentials=S3Credentials(access_key_id=SecretKeyRef("s3", "id"), secret_access_key=LEAK),  # type: ignore[arg-type]
            )
        ),
        _not_a_reference("S3Credentials", "secret_access_key", "a SecretKeyRef"),
    ),
    (
        "VllmServer",
        lambda: _server(model=ModelSource.s3("m", bucket="bucket", credentials=LEAK)),  # type: ignore[arg-type]
        _not_a_reference("S3Model", "credentials", "a S3Credentials or None"),
    ),
    ("VllmServer", lambda: _server(env={"HF_TOKEN": LEAK}), f"VllmServerProps: env['HF_TOKEN']=<str, redacted> {LITERAL_SECRET}"),
    ("VllmServer", lambda: _server(env={"EXTRA": LEAK}), f"VllmServerProps: env['EXTRA']=<str, redacted> {LITERAL_SECRET}"),
    (
        "VllmServer",
        lambda: _server(env_config={"EXTRA": LEAK}),
        "VllmServerProps: env_config['EXTRA']=<str, redacted> is a secret; a ConfigMap is stored and shown in clear text. "
        "Allowed: non-secret settings only. Fix: keep the value in a Secret and pass it as env={name: SecretKeyRef(secret, key)}.",
    ),
    (
        "VllmServer",
        lambda: _server(download=ModelDownload(env={"AWS_SECRET_ACCESS_KEY": LEAK})),
        f"ModelDownload: env['AWS_SECRET_ACCESS_KEY']=<str, redacted> {LITERAL_SECRET}",
    ),
    (
        "VllmServer",
        lambda: _server(download=ModelDownload(wait_env={"X": LEAK})),
        f"ModelDownload: wait_env['X']=<str, redacted> {LITERAL_SECRET}",
    ),
    ("RayCluster", lambda: _ray(hf_token=LEAK), _not_a_reference("RayClusterProps", "hf_token")),
    ("RayCluster", lambda: _ray(api_key=LEAK), _not_a_reference("RayClusterProps", "api_key")),
    ("RayCluster", lambda: _ray(model=dataclasses.replace(HF, token=LEAK)), _not_a_reference("HuggingFaceModel", "token")),
    ("RayCluster", lambda: _ray(env={"EXTRA": LEAK}), f"RayClusterProps: env['EXTRA']=<str, redacted> {LITERAL_SECRET}"),
]


@pytest.mark.parametrize(
    ("construct", "make", "message"), LITERAL_CASES, ids=[f"{c}-{m.split(':')[0]}-{i}" for i, (c, _, m) in enumerate(LITERAL_CASES)]
)
def test_fails_when_a_secret_field_gets_a_literal(construct: str, make: Any, message: str) -> None:
    chart = _chart()
    cls = {"VllmServer": VllmServer, "RayCluster": RayCluster}[construct]
    with pytest.raises(ConfigError) as e:
        cls(chart, "x", make())  # the props (or a value inside them) refuse the literal before the construct is reached
    assert str(e.value) == message
    assert LEAK not in str(e.value) and LEAK not in repr(e.value.value)
    assert chart_objects(chart) == [] and len(chart.node.children) == 0


@pytest.mark.parametrize(
    "args",
    [("--tokenizer", LEAK), (f"--tokenizer={LEAK}",), (LEAK,), ("--api-key", "sk-" + "z" * 40)],
    ids=["flag-value", "inline", "bare", "api-key"],
)
def test_fails_when_extra_args_hold_a_secret(args: tuple[str, ...]) -> None:
    chart = _chart()
    with pytest.raises(ConfigError) as e:
        VllmServer(chart, "x", _server(engine=EngineArgs(extra_args=args)))
    assert str(e.value) == (
        "EngineArgs: extra_args=<str, redacted> holds a secret; it would be written into the manifests. Allowed: no secrets in "
        "extra_args. Fix: pass secrets as SecretKeyRef props (api_key, hf_token)."
    )
    assert all(a not in str(e.value) for a in args if a.startswith(("hf_", "sk-", "--tokenizer=")))
    assert chart_objects(chart) == []


def test_fails_when_a_model_init_job_gets_a_literal_token() -> None:
    with pytest.raises(ConfigError) as e:
        ModelInitJobProps(
            server_name="llama",
            source=dataclasses.replace(HF, token=LEAK),  # type: ignore[arg-type]
            claim_name="cache",
            image=Image("vllm/vllm-openai", tag="v0.33.0"),
            labels=WorkloadLabels(instance="llama"),
        )
    assert str(e.value) == _not_a_reference("HuggingFaceModel", "token")
    assert LEAK not in str(e.value)


def test_a_model_init_job_reads_the_token_from_its_secret_file() -> None:
    chart = _chart()
    props = ModelInitJobProps(
        server_name="llama",
        source=dataclasses.replace(HF, token=SecretKeyRef("hf-token", "token")),
        claim_name="cache",
        image=Image("vllm/vllm-openai", tag="v0.33.0"),
        labels=WorkloadLabels(instance="llama"),
    )
    ModelInitJob(chart, "j", props)
    objects = chart_objects(chart)
    assert secret_problems(objects) == []
    (job,) = objects
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert {"name": "HF_TOKEN_PATH", "value": "/var/run/secrets/huggingface/token"} in container["env"]
    assert all(e["name"] != "HF_TOKEN" for e in container["env"])

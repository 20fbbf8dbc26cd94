"""A post-deploy load test of a serving workload, pure: :class:`LoadTestProps` in, a :class:`LoadTestPlan` (one Job) out.

The Job runs vLLM's own benchmark client (``vllm bench serve``) against the workload's Service with a bounded number
of requests and a hard time bound (``timeout`` around the command and the Job's ``activeDeadlineSeconds``), prints
the result in its log and, optionally, pushes the numbers to a Prometheus Pushgateway. It reads only the workload's
:class:`~vllm_constructs.core.serving.ServingFacts`. The Job is named after its content, so a changed test is a new
Job (a finished Job's template cannot be changed) and re-applying the same manifests never runs it twice.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator

from .model import HF_TOKEN_DIR, HuggingFaceModel, PvcModel, hf_token_mount, hf_token_volume
from .objects import KubeObject, ServerNetworkPolicy
from .serving import DEFAULT_VLLM_IMAGE, HOME, ServingFacts, ServingWorkload, base_env
from .validation import (
    INT32_MAX,
    Checker,
    ClaimName,
    HttpUrl,
    Labels,
    LabelValue,
    content_hash,
    dns_label_ok,
    fail,
    in_range,
    number_range,
    problem,
    value_class,
)
from .values import (
    Accelerator,
    FactoryOnly,
    Image,
    Lax,
    Resources,
    SecretKeyRef,
    SecurityProfile,
    UserLabels,
    WorkloadLabels,
    closed,
    env_list,
)

__all__ = ["LoadTestApi", "LoadTestPlan", "LoadTestProps", "Pushgateway", "Tokenizer", "plan_load_test"]

JsonObject = dict[str, Any]
RESULT_DIR = "/tmp/load-test"
RESULT_FILE = "result.json"
TOKENIZER_MOUNT = "/tokenizer"
KILL_AFTER_SECONDS = 30
CLIENT_START_SECONDS = 300
"""Added to the command's bound for importing vLLM, loading the tokenizer and making the prompts."""
PULL_ALLOWANCE_SECONDS = 600
"""Added to the Job's deadline for scheduling the pod and pulling the image."""
COMPONENT = "load-test"
_NO_ACCELERATOR = Accelerator.nvidia()
RUNNER = "load_test_run.py"


class LoadTestApi(enum.StrEnum):
    """Which OpenAI API the requests use (``vllm bench serve --backend``)."""

    COMPLETIONS = "openai"
    """/v1/completions."""
    CHAT = "openai-chat"
    """/v1/chat/completions."""

    @property
    def endpoint(self) -> str:
        return "/v1/completions" if self is LoadTestApi.COMPLETIONS else "/v1/chat/completions"


def _hub_id(value: str) -> str:
    if len(value) > 96 or not re.fullmatch(r"[A-Za-z0-9][-A-Za-z0-9_.]*/[A-Za-z0-9][-A-Za-z0-9_.]*", value):
        raise problem("repo_id", "is not a Hugging Face repository id", "'<owner>/<name>', e.g. 'meta-llama/Llama-3.1-8B'", "use the id")
    return value


def _relative(value: str) -> str:
    if value.startswith("/") or ".." in value.split("/") or any(ord(c) < 32 for c in value) or len(value) > 1024:
        raise problem("path", "is not a relative path inside the claim", "a relative path without '..'", "e.g. 'llama-8b'")
    return value


class Tokenizer(FactoryOnly):
    """Where the benchmark client reads the tokenizer (it counts and generates tokens locally).

    Use :meth:`hub` or :meth:`claim`. Default (None in LoadTestProps): the served model's own, from the hub for a
    Hugging Face model (with the server's token), from its claim for a PVC model."""

    __choices__ = "Tokenizer.hub(repo_id, token=...) or Tokenizer.claim(claim_name, path=...)"

    @staticmethod
    def hub(repo_id: str, *, token: SecretKeyRef | None = None) -> HubTokenizer:
        """Downloaded from the Hugging Face Hub when the Job starts (needs egress to the hub; a token for gated repos)."""
        return HubTokenizer(repo_id=repo_id, token=token)

    @staticmethod
    def claim(claim_name: Any, *, path: str = "") -> ClaimTokenizer:
        """Read from a folder on an existing claim, mounted read-only (ReadOnlyMany or ReadWriteMany, or on the same node)."""
        return ClaimTokenizer(claim_name=claim_name, path=path)


@value_class(kw_only=True)
class HubTokenizer(Tokenizer):
    kind: ClassVar[str] = "hub"
    repo_id: Annotated[str, AfterValidator(_hub_id)]
    token: SecretKeyRef | None = None


@value_class(kw_only=True)
class ClaimTokenizer(Tokenizer):
    kind: ClassVar[str] = "claim"
    claim_name: ClaimName
    path: Annotated[str, AfterValidator(_relative)] = ""


AnyTokenizer = Annotated[Tokenizer, closed(Tokenizer)]


@value_class(kw_only=True)
class Pushgateway:
    """A Prometheus Pushgateway the Job pushes its numbers to (``vllm_load_test_*`` gauges, one group per test)."""

    url: HttpUrl
    """e.g. 'http://pushgateway.monitoring:9091'. No default."""
    job: LabelValue = "vllm-load-test"
    """The grouping key's job label (namespace, server and load_test are added). Default: vllm-load-test."""

    def __post_init__(self) -> None:
        if not self.job:
            fail("job", self.job, "is empty", "a non-empty label value", "keep the default 'vllm-load-test'")


def _base_name(value: str) -> str:
    if not dns_label_ok(value, 54):
        raise problem("dns_label", "is not a DNS-1123 label of at most 54 characters", "room for '-<content hash>'", "shorten it")
    return value


def _bench_arg(value: str) -> str:
    if any(c in value for c in "\x00\n\r"):
        raise problem("arg", "holds a NUL or newline", "one command-line argument per item", "split the argument")
    return value


@value_class(kw_only=True)
class LoadTestProps:
    """Props of :class:`~vllm_constructs.LoadTest`. Only ``target`` is required."""

    target: ServingWorkload
    """The serving workload to load (VllmServer, RayCluster on any backend). No default."""
    tokenizer: AnyTokenizer | None = None
    """Where the client reads the tokenizer. Default: the served model's (hub repo or PVC folder)."""
    api: Annotated[LoadTestApi, Lax] = LoadTestApi.COMPLETIONS
    """Default: /v1/completions."""
    num_prompts: Annotated[int, in_range(1, 100_000)] = 200
    """Requests sent in all (the bound on the test's size). Default: 200."""
    input_len: Annotated[int, in_range(1, 1_000_000)] = 512
    """Prompt tokens per request (random tokens). Default: 512."""
    output_len: Annotated[int, in_range(1, 1_000_000)] = 128
    """Generated tokens per request (end-of-sequence ignored). Default: 128."""
    max_concurrency: Annotated[int, in_range(1, 10_000)] = 8
    """Requests in flight at most. Default: 8."""
    request_rate: Annotated[float, number_range(0, 1_000_000, low_open=True)] | None = None
    """Requests started per second (Poisson arrivals). Default: none (as fast as max_concurrency allows)."""
    seed: Annotated[int, in_range(0, INT32_MAX)] = 0
    """Seed of the random prompts. Default: 0."""
    timeout_seconds: Annotated[int, in_range(10, 86_400)] = 1800
    """Bound of the benchmark once the server answers. Default: 1800."""
    ready_timeout_seconds: Annotated[int, in_range(0, 86_400)] | None = None
    """How long the client waits for the server's first answer. Default: the workload's startup budget."""
    max_failed_requests: Annotated[int, in_range(0, 100_000)] = 0
    """Failed requests tolerated before the Job fails. Default: 0."""
    pushgateway: Pushgateway | None = None
    """Push the result's numbers here. Default: none (the result is in the Job's log only)."""
    image: Image = DEFAULT_VLLM_IMAGE
    """An image with vLLM (``vllm bench serve``) and python3; use the server's. Default: vllm/vllm-openai:v0.33.0."""
    resources: Resources = field(default_factory=lambda: Resources(cpu="1", memory="2Gi"))
    """Requests equal limits. Default: 1 CPU, 2Gi."""
    security: SecurityProfile = field(default_factory=SecurityProfile)
    """Default: hardened (non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp)."""
    pod_labels: UserLabels = field(default_factory=dict)
    """More labels on the Job and its pod, e.g. the ones the server's NetworkPolicy admits (from_pods). Default: none."""
    node_selector: Labels = field(default_factory=dict)
    """Default: none."""
    ttl_seconds_after_finished: Annotated[int, in_range(0, INT32_MAX)] | None = None
    """Let Kubernetes delete the finished Job. Default: never (a GitOps tool would re-create and re-run it)."""
    name: Annotated[str, AfterValidator(_base_name)] | None = None
    """Base of the Job's name ``<name>-<content hash>``. Default: '<server>-loadtest'."""
    extra_args: tuple[Annotated[str, AfterValidator(_bench_arg)], ...] = ()
    """More ``vllm bench serve`` flags, verbatim (never one the construct renders). Default: none."""

    def __post_init__(self) -> None:
        for kind in ("cpu", "memory"):
            limit = getattr(self.resources, f"{kind}_limit")
            if limit is not None and limit != getattr(self.resources, kind):
                fail(
                    f"resources.{kind}_limit",
                    limit,
                    f"differs from resources.{kind}",
                    "requests equal to limits (a load generator that is throttled measures itself)",
                    f"drop {kind}_limit",
                )
        if self.max_failed_requests >= self.num_prompts:
            fail(
                "max_failed_requests",
                self.max_failed_requests,
                f"lets every one of the {self.num_prompts} requests fail",
                f"an integer < num_prompts ({self.num_prompts})",
                "lower it (default 0)",
            )
        _check_extra_args(self.extra_args)


# Flags the construct renders, refused in extra_args (option strings of vllm bench serve).
RENDERED_FLAGS = frozenset(
    {
        "--backend",
        "--endpoint",
        "--base-url",
        "--host",
        "--port",
        "--model",
        "--served-model-name",
        "--tokenizer",
        "--dataset-name",
        "--dataset-path",
        "--random-input-len",
        "--random-output-len",
        "--input-len",
        "--output-len",
        "--num-prompts",
        "--max-concurrency",
        "--request-rate",
        "--seed",
        "--ready-check-timeout-sec",
        "--save-result",
        "--append-result",
        "--result-dir",
        "--result-filename",
        "--disable-tqdm",
        "--header",
        "--skip-tokenizer-init",
    }
)


def _check_extra_args(args: tuple[str, ...]) -> None:
    for arg in args:
        option = arg.split("=", 1)[0]
        if option in RENDERED_FLAGS:
            fail(
                "extra_args",
                arg,
                "repeats a flag the construct renders (target, sizes, bounds, result file)",
                "other vllm bench serve flags, e.g. --random-range-ratio 0.2 or --temperature 0",
                "set the typed prop instead",
            )
        if arg.startswith("-") and " " in arg:
            fail("extra_args", arg, "puts a flag and its value in one string", "one item per flag and per value", "split it")


@dataclass(slots=True)
class LoadTestPlan:
    """The load-test Job and what it was derived from."""

    objects: list[KubeObject]
    job_name: str
    base_url: str
    deadline_seconds: int
    facts: ServingFacts = field(repr=False)


def runner_source() -> str:
    """The stdlib-only program that runs the benchmark, prints the result and pushes it."""
    return files("vllm_constructs.scripts").joinpath(RUNNER).read_text()


__all__ += ["AnyTokenizer", "ClaimTokenizer", "HubTokenizer", "runner_source"]


# ------------------------------------------------------------------------------------------------ planning


def _target_facts(check: Checker, props: LoadTestProps) -> ServingFacts:
    facts = props.target.serving
    if not facts.served_model_name:
        check.fail(
            "target",
            type(props.target).__name__,
            "serves no vLLM model (a bare GpuDeployment), so there is no OpenAI API to load",
            "a VllmServer or RayCluster (or their plans)",
            "load-test a vLLM server",
        )
    return facts


def _check_network_policy(check: Checker, facts: ServingFacts, props: LoadTestProps, labels: Mapping[str, str], namespace: str) -> None:
    """The server's NetworkPolicy must admit the load-test pod (its labels; its namespace where that can be known)."""
    policy = facts.extras.get("network_policy")
    if not isinstance(policy, ServerNetworkPolicy):
        return
    missing = {k: v for k, v in (policy.from_pods or {}).items() if labels.get(k) != v}
    if missing:
        check.fail(
            "pod_labels",
            dict(props.pod_labels),
            f"lacks {missing}, so the server's NetworkPolicy (from_pods) refuses the load-test pod",
            f"pod_labels that include {dict(policy.from_pods or {})}",
            f"add pod_labels={missing!r} (or widen the server's network_policy.from_pods)",
        )
    if policy.from_namespaces is None and (namespace or "default") != (facts.namespace or "default"):
        check.fail(
            "target",
            facts.server_name,
            f"admits only pods of its own namespace ({facts.namespace or 'default'}), but the load test runs in {namespace or 'default'}",
            "a load test in the server's namespace, or a server NetworkPolicy with from_namespaces",
            "put the LoadTest in a chart of the server's namespace",
        )


def _resolve_tokenizer(check: Checker, props: LoadTestProps, facts: ServingFacts) -> Tokenizer:
    if props.tokenizer is not None:
        return props.tokenizer
    model = facts.model
    if isinstance(model, HuggingFaceModel):
        token = facts.extras.get("hf_token")
        return Tokenizer.hub(model.repo_id, token=token if isinstance(token, SecretKeyRef) else model.token)
    if isinstance(model, PvcModel):
        return Tokenizer.claim(model.claim_name, path=model.path)
    check.fail(
        "tokenizer",
        None,
        f"cannot be derived from the model source {type(model).__name__} (the client needs the tokenizer files to make prompts "
        "and count tokens)",
        "Tokenizer.hub(repo_id, token=...) or Tokenizer.claim(claim_name, path=...)",
        "pass tokenizer=Tokenizer.hub('<owner>/<model>') or tokenizer=Tokenizer.claim('<claim>', path='<folder>')",
    )


@dataclass(frozen=True, slots=True)
class _TokenizerPod:
    arg: str
    env: dict[str, Any]
    volumes: list[JsonObject]
    mounts: list[JsonObject]


def _tokenizer_pod(tokenizer: Tokenizer) -> _TokenizerPod:
    if isinstance(tokenizer, ClaimTokenizer):
        claim = {"name": "tokenizer", "persistentVolumeClaim": {"claimName": str(tokenizer.claim_name), "readOnly": True}}
        mount = {"name": "tokenizer", "mountPath": TOKENIZER_MOUNT, "readOnly": True}
        arg = f"{TOKENIZER_MOUNT}/{tokenizer.path.strip('/')}".rstrip("/")
        return _TokenizerPod(arg, {"HF_HUB_OFFLINE": "1"}, [claim], [mount])
    assert isinstance(tokenizer, HubTokenizer)
    env: dict[str, Any] = {"HF_HUB_DISABLE_TELEMETRY": "1"}
    if tokenizer.token is None:
        return _TokenizerPod(tokenizer.repo_id, env, [], [])
    env["HF_TOKEN_PATH"] = f"{HF_TOKEN_DIR}/token"  # a file projected from the Secret, never an env value
    return _TokenizerPod(tokenizer.repo_id, env, [hf_token_volume(tokenizer.token)], [hf_token_mount()])


def base_url(facts: ServingFacts) -> str:
    """The workload's Service as the load-test pod reaches it (its namespace spelled out when known)."""
    host = f"{facts.service_name}.{facts.namespace}.svc" if facts.namespace else facts.service_name
    return f"http://{host}:{facts.service_port}"


def bench_command(props: LoadTestProps, facts: ServingFacts, tokenizer: str, ready: int) -> list[str]:
    """``timeout ... vllm bench serve ...``: the benchmark bounded in time and in requests, its result saved to a file."""
    bound = CLIENT_START_SECONDS + ready + props.timeout_seconds
    args = ["timeout", "--signal=INT", f"--kill-after={KILL_AFTER_SECONDS}", str(bound), "vllm", "bench", "serve"]
    args += ["--backend", str(props.api), "--endpoint", props.api.endpoint, "--base-url", base_url(facts)]
    args += ["--model", facts.served_model_name, "--tokenizer", tokenizer]
    args += ["--dataset-name", "random", "--random-input-len", str(props.input_len), "--random-output-len", str(props.output_len)]
    args += ["--num-prompts", str(props.num_prompts), "--max-concurrency", str(props.max_concurrency)]
    if props.request_rate is not None:
        args += ["--request-rate", repr(float(props.request_rate))]
    args += ["--seed", str(props.seed), "--ready-check-timeout-sec", str(ready), "--disable-tqdm"]
    args += ["--save-result", "--result-dir", RESULT_DIR, "--result-filename", RESULT_FILE]
    return args + list(props.extra_args)


def _env(props: LoadTestProps, facts: ServingFacts, tok: _TokenizerPod, name: str) -> dict[str, Any]:
    env: dict[str, Any] = {**base_env(HOME), **tok.env, "PYTHONUNBUFFERED": "1"}
    api_key = facts.extras.get("api_key")
    if isinstance(api_key, SecretKeyRef):
        env["OPENAI_API_KEY"] = api_key  # vllm bench sends it as the bearer token
    env["LOAD_TEST_RESULT_FILE"] = f"{RESULT_DIR}/{RESULT_FILE}"
    env["LOAD_TEST_NUM_PROMPTS"] = str(props.num_prompts)
    env["LOAD_TEST_MAX_FAILED"] = str(props.max_failed_requests)
    if props.pushgateway is not None:
        grouping = {"job": props.pushgateway.job, "namespace": facts.namespace or "default", "server": facts.server_name, "load_test": name}
        env["PUSHGATEWAY_URL"] = props.pushgateway.url
        env["PUSHGATEWAY_GROUPING"] = json.dumps(grouping)
    return env


def _container(props: LoadTestProps, command: list[str], env: Mapping[str, Any], tok: _TokenizerPod) -> JsonObject:
    mounts = [{"name": "tmp", "mountPath": "/tmp"}, {"name": "home", "mountPath": HOME}, *tok.mounts]
    return {
        "name": COMPONENT,
        "image": props.image.ref,
        "imagePullPolicy": str(props.image.pull_policy),
        "command": ["python3", "-c", runner_source()],
        "args": command,
        "env": env_list(env),
        "resources": props.resources.to_json(_NO_ACCELERATOR),
        "securityContext": props.security.container_json(),
        "volumeMounts": mounts,
    }


def plan_load_test(path: str, namespace: str, props: LoadTestProps) -> LoadTestPlan:
    """Check the props against the target's facts and build the Job. Pure: raises ConfigError, creates nothing."""
    check = Checker(path)
    facts = _target_facts(check, props)
    labels = WorkloadLabels(name=facts.labels.name, instance=facts.server_name, component=COMPONENT, part_of=facts.labels.part_of)
    pod_labels = labels.labels(props.pod_labels)
    _check_network_policy(check, facts, props, pod_labels, namespace)
    tok = _tokenizer_pod(_resolve_tokenizer(check, props, facts))
    ready = props.ready_timeout_seconds if props.ready_timeout_seconds is not None else facts.startup_seconds
    command = bench_command(props, facts, tok.arg, ready)
    base = props.name or f"{facts.server_name}-loadtest"
    container = _container(props, command, _env(props, facts, tok, base), tok)
    pod: JsonObject = {"restartPolicy": "Never", "enableServiceLinks": False, "automountServiceAccountToken": False}
    pod["securityContext"] = props.security.pod_json()
    if props.node_selector:
        pod["nodeSelector"] = dict(props.node_selector)
    pod["containers"] = [container]
    pod["volumes"] = [{"name": "tmp", "emptyDir": {}}, {"name": "home", "emptyDir": {}}, *tok.volumes]
    deadline = CLIENT_START_SECONDS + ready + props.timeout_seconds + KILL_AFTER_SECONDS + PULL_ALLOWANCE_SECONDS
    spec: JsonObject = {"backoffLimit": 0, "activeDeadlineSeconds": deadline}
    if props.ttl_seconds_after_finished is not None:
        spec["ttlSecondsAfterFinished"] = props.ttl_seconds_after_finished
    spec["template"] = {"metadata": {"labels": pod_labels}, "spec": pod}
    name = f"{base}-{content_hash(spec, 8)}"
    job = KubeObject("Resource", "batch/v1", "Job", name, pod_labels, {"spec": spec})
    return LoadTestPlan([job], name, base_url(facts), deadline, facts)

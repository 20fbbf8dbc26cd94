"""Hypothesis strategies for valid server props on the new core (VllmServerProps, RayClusterProps).

They draw the same spaces as the property tests' strategies (tests/test_properties.py, test_properties_multinode.py),
written for the runtime-validated value classes: the download options are one ModelDownload, the closed unions are
built through their factories. Every drawn props object is valid: the construct may not refuse it.
"""

from __future__ import annotations

from hypothesis import strategies as st

from vllm_constructs import (
    Accelerator,
    DownloadMode,
    EngineArgs,
    GpuProductAffinity,
    HealthChecks,
    ModelCache,
    ModelDownload,
    ModelSource,
    MultiNodeBackend,
    NcclDebug,
    NcclSettings,
    PodOptions,
    RayClusterProps,
    Rdma,
    Resources,
    RolloutStrategy,
    SecretKeyRef,
    ServerNetworkPolicy,
    ServiceType,
    SharedMemory,
    VllmServerProps,
)

__all__ = ["label_values", "names", "ray_props", "valid_props"]

names = st.from_regex(r"[a-z][a-z0-9]{0,10}(-[a-z0-9]{1,8}){0,2}", fullmatch=True).filter(lambda n: n != "vllm")
label_values = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,20}[A-Za-z0-9])?", fullmatch=True)
revisions = st.one_of(st.from_regex(r"[0-9a-f]{40}", fullmatch=True), st.sampled_from(["main", "v1.0"]))
ACCELERATORS = (Accelerator.nvidia(), Accelerator.amd(), Accelerator.intel_gaudi())


@st.composite
def sources(draw: st.DrawFn) -> ModelSource:
    kind = draw(st.sampled_from(["hf", "s3", "chart_s3", "pvc", "image"]))
    if kind == "hf":
        token = draw(st.none() | st.builds(SecretKeyRef, names, st.just("token")))
        return ModelSource.huggingface(
            draw(st.sampled_from(["org/model", "meta-llama/Llama-3.1-8B-Instruct"])), revision=draw(revisions), token=token
        )
    if kind == "s3":
        return ModelSource.s3(
            draw(st.sampled_from(["models/opt", "a/b/c"])), bucket="bucket-1", endpoint=draw(st.none() | st.just("http://minio:9000"))
        )
    if kind == "chart_s3":
        return ModelSource.chart_s3("demo-secrets", "opt-125m/")
    if kind == "pvc":
        return ModelSource.pvc(draw(names), path=draw(st.sampled_from(["", "llama"])))
    return ModelSource.image("/opt/model")


@st.composite
def _delivery(draw: st.DrawFn, source: ModelSource, replicas: int) -> dict[str, object]:
    """Cache, download options and rollout that fit the source and the replica count."""
    modes = [DownloadMode.JOB, DownloadMode.INIT_CONTAINER]
    if source.downloads and source.accepts_token:
        modes.append(DownloadMode.SERVER)
    mode = draw(st.sampled_from(modes))
    if not source.downloads:
        return {"rollout": draw(st.sampled_from([RolloutStrategy.rolling(), RolloutStrategy.recreate()]))}
    if mode is DownloadMode.JOB:
        cache = ModelCache.pvc(f"{draw(st.integers(1, 900))}Gi", access_mode="ReadWriteMany" if replicas > 1 else None)
        rollout = draw(st.sampled_from([RolloutStrategy.rolling(), RolloutStrategy.recreate()]))
        if replicas > 1:
            rollout = draw(st.sampled_from([rollout, RolloutStrategy.rolling(max_surge=1, max_unavailable=0)]))
    else:
        cache = draw(st.sampled_from([ModelCache.empty_dir("20Gi"), ModelCache.ephemeral("50Gi", storage_class="local-nvme")]))
        rollout = draw(st.sampled_from([RolloutStrategy.rolling(), RolloutStrategy.rolling(max_surge="25%", max_unavailable=0)]))
    download = ModelDownload(
        mode=mode,
        ttl_seconds_after_finished=draw(st.none() | st.integers(0, 86400)),
        env=draw(st.sampled_from([{}, {"AWS_MAX_ATTEMPTS": "5"}])),
    )
    return {"cache": cache, "download": download, "rollout": rollout}


@st.composite
def valid_props(draw: st.DrawFn) -> VllmServerProps:
    accelerators = draw(st.sampled_from([0, 1, 2, 4, 8]))
    pp = draw(st.sampled_from([p for p in (1, 2) if (accelerators == 0 and p == 1) or (accelerators and accelerators % p == 0)]))
    tp = max(accelerators // pp, 1)
    mem_gi = draw(st.integers(min_value=4, max_value=512))
    replicas = draw(st.integers(min_value=0, max_value=4))
    source = draw(sources())
    startup = draw(st.integers(min_value=60, max_value=7200))
    shm = draw(st.sampled_from([None, SharedMemory.of("1Gi")]))
    # a known product lets the capacity plan check that the weights fit: give vLLM enough of an H100 for an 8B model
    product = draw(st.sampled_from([None, "NVIDIA-H100-80GB-HBM3"])) if accelerators else None
    utilization = st.floats(min_value=0.5 if product else 0.05, max_value=1.0)
    return VllmServerProps(
        name=draw(names),
        model=source,
        resources=Resources(cpu=str(draw(st.integers(1, 64))), memory=f"{mem_gi}Gi", accelerators=accelerators),
        engine=EngineArgs(
            tensor_parallel_size=tp,
            pipeline_parallel_size=pp,
            max_model_len=draw(st.none() | st.integers(128, 131072)),
            gpu_memory_utilization=draw(st.none() | utilization),
            dtype=draw(st.none() | st.sampled_from(["auto", "bfloat16", "half"])),
            extra_args=draw(st.sampled_from([(), ("--enable-chunked-prefill",), ("--max-num-seqs", "64")])),
        ),
        accelerator=draw(st.sampled_from(ACCELERATORS)),
        replicas=replicas,
        health=HealthChecks(startup_timeout_seconds=startup),
        port=draw(st.integers(1024, 65000)),
        service_port=draw(st.sampled_from([80, 8000, 8080])),
        service_type=draw(st.sampled_from(list(ServiceType))),
        **draw(_delivery(source, replicas)),  # type: ignore[arg-type]
        api_key=draw(st.none() | st.just(SecretKeyRef("api", "key"))),
        env_config=draw(
            st.none()
            | st.dictionaries(
                st.from_regex(r"[A-Z][A-Z_]{0,10}", fullmatch=True).filter(
                    lambda k: not k.startswith(("HF_", "HOME", "USER", "VLLM_", "XDG", "DO_", "TRANS")) and "KEY" not in k.split("_")
                ),
                st.one_of(st.integers(), st.booleans(), label_values),
                max_size=3,
            )
        ),
        pdb_max_unavailable=draw(st.sampled_from([None, 1, "50%"])),
        network_policy=draw(
            st.none()
            | st.just(
                ServerNetworkPolicy(
                    from_namespaces={"kubernetes.io/metadata.name": "gw"}, restrict_egress=True, egress_cidrs=("10.0.0.0/8",)
                )
            )
        ),
        pod=PodOptions(
            gpu_products=GpuProductAffinity.require(product) if product else None,
            shared_memory=shm if mem_gi > 4 else None,
            labels=draw(st.dictionaries(st.sampled_from(["team", "env", "example.com/cost"]), label_values, max_size=2)),
        ),
    )


# names short enough for every suffix the multi-node construct adds
ray_names = names.filter(lambda n: len(n) <= 40 and not n.startswith("vllm"))


@st.composite
def ray_sources(draw: st.DrawFn) -> ModelSource:
    kind = draw(st.sampled_from(["hf", "pvc", "image"]))
    if kind == "hf":
        return ModelSource.huggingface(
            draw(st.sampled_from(["meta-llama/Llama-3.1-405B-Instruct", "org/model"])),
            revision=draw(st.one_of(st.from_regex(r"[0-9a-f]{40}", fullmatch=True), st.just("main"))),
            token=draw(st.none() | st.builds(SecretKeyRef, names, st.just("token"))),
            include=draw(st.sampled_from([(), ("*.json", "*.safetensors")])),
        )
    if kind == "pvc":
        return ModelSource.pvc(draw(names), path=draw(st.sampled_from(["", "llama"])))
    return ModelSource.image("/models/llama")


@st.composite
def ray_props(draw: st.DrawFn) -> RayClusterProps:
    backend = draw(st.sampled_from(list(MultiNodeBackend)))
    nodes = draw(st.integers(2, 4))
    per_node = draw(st.sampled_from([1, 2, 4, 8]))
    pp = draw(st.sampled_from([nodes, 1]))
    tp = nodes * per_node // pp
    source = draw(ray_sources())
    cache = (
        draw(
            st.sampled_from(
                [
                    None,
                    ModelCache.pvc("2000Gi", access_mode="ReadWriteMany", storage_class="shared-rwx"),
                    ModelCache.existing_claim("weights"),
                ]
            )
        )
        if source.downloads
        else None
    )
    return RayClusterProps(
        name=draw(ray_names),
        backend=backend,
        model=source,
        engine=EngineArgs(
            tensor_parallel_size=tp,
            pipeline_parallel_size=pp,
            max_model_len=draw(st.none() | st.integers(1024, 131072)),
            extra_args=draw(st.sampled_from([(), ("--enable-chunked-prefill",)])),
        ),
        nodes=nodes,
        accelerators_per_node=per_node,
        resources=Resources(cpu=str(draw(st.integers(4, 128))), memory=f"{draw(st.integers(16, 1024))}Gi"),
        accelerator=draw(st.sampled_from(ACCELERATORS)),
        rdma=draw(st.none() | st.just(Rdma(resource="rdma/ib", count=draw(st.integers(1, 4)), hca="mlx5"))),
        nccl=NcclSettings(
            socket_ifname=draw(st.sampled_from([None, "eth0", "^lo,docker"])),
            debug=draw(st.none() | st.sampled_from(list(NcclDebug))),
        ),
        cluster_timeout_seconds=draw(st.integers(30, 3600)),
        ray_port=draw(st.integers(9001, 65000)),
        port=draw(st.integers(1024, 9000)),
        service_port=draw(st.sampled_from([80, 8000])),
        health=HealthChecks(startup_timeout_seconds=draw(st.integers(60, 7200))),
        replicas=1 if backend is MultiNodeBackend.KUBERAY else draw(st.integers(0, 3)),
        cache=cache,
        hf_token=draw(st.none() | st.just(SecretKeyRef("hf-token", "token"))) if source.accepts_token else None,
        api_key=draw(st.none() | st.just(SecretKeyRef("api", "key"))),
        env=draw(st.dictionaries(st.sampled_from(["TEAM", "LOG_LEVEL", "OMP_NUM_THREADS"]), label_values, max_size=2)),
        pod=PodOptions(
            shared_memory=draw(st.sampled_from([None, SharedMemory.of("8Gi")])),
            labels=draw(st.dictionaries(st.sampled_from(["team", "example.com/cost"]), label_values, max_size=2)),
        ),
    )

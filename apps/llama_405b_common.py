"""Props shared by the two Llama-3.1-405B-Instruct apps: TP 8 inside each node x PP 2 across two 8-GPU nodes."""

from __future__ import annotations

from vllm_constructs import (
    EngineArgs,
    GpuProductAffinity,
    ModelCache,
    ModelSource,
    MultiNodeBackend,
    NcclSettings,
    PodOptions,
    RayClusterProps,
    Rdma,
    Resources,
    SecretKeyRef,
    ServerNetworkPolicy,
)

# A commit of meta-llama/Llama-3.1-405B-Instruct: pins exactly which files every node serves.
LLAMA_405B_REVISION = "069992c75aed59df00ec06c17177e76c63296a26"


def llama_405b_props(name: str, backend: MultiNodeBackend) -> RayClusterProps:
    """Both apps share the namespace, so each server has its own name (and so its own pods and Service)."""
    return RayClusterProps(
        name=name,
        backend=backend,
        model=ModelSource.huggingface(
            "meta-llama/Llama-3.1-405B-Instruct",
            revision=LLAMA_405B_REVISION,
            include=("*.json", "*.safetensors", "tokenizer*"),
        ),
        hf_token=SecretKeyRef("hf-token", "token"),
        engine=EngineArgs(
            served_model_name="llama-3.1-405b-instruct",
            tensor_parallel_size=8,
            pipeline_parallel_size=2,
            max_model_len=32768,
            gpu_memory_utilization=0.9,
        ),
        nodes=2,
        accelerators_per_node=8,
        resources=Resources(cpu="64", memory="900Gi"),
        cache=ModelCache.pvc("1000Gi", storage_class="shared-rwx", access_mode="ReadWriteMany"),
        network_policy=ServerNetworkPolicy(
            from_namespaces={"kubernetes.io/metadata.name": "llm-gateway"},
            metrics_from_namespaces={"kubernetes.io/metadata.name": "monitoring"},
            restrict_egress=True,
        ),
        rdma=Rdma(resource="rdma/ib", count=1, hca="mlx5"),
        nccl=NcclSettings(socket_ifname="eth0"),
        pod=PodOptions(gpu_products=GpuProductAffinity.require("NVIDIA-H100-80GB-HBM3")),
    )

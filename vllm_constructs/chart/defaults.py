"""The default values of vLLM's example chart (``examples/deployment/chart-helm/values.yaml`` of the newest version the
project compares against, with ``progressDeadlineSeconds`` and ``startupProbe``). A test compares this mapping with
the chart's own values.yaml."""

from __future__ import annotations

from typing import Any

__all__ = ["CHART_DEFAULTS", "DEFAULT_COMMAND", "DEFAULT_JOB_ARGS", "DEFAULT_WAIT_ARGS", "PLACEHOLDER_GPU"]

DEFAULT_COMMAND = [
    "vllm", "serve", "/data/", "--served-model-name", "opt-125m", "--enforce-eager", "--dtype", "bfloat16",
    "--block-size", "16", "--host", "0.0.0.0", "--port", "8000",
]  # fmt: skip
DEFAULT_WAIT_ARGS = [
    "-eucx",
    "while aws --endpoint-url $S3_ENDPOINT_URL s3 sync --dryrun s3://$S3_BUCKET_NAME/$S3_PATH /data | grep -q download; do sleep 10; done",
]
DEFAULT_JOB_ARGS = ["-eucx", "aws --endpoint-url $S3_ENDPOINT_URL s3 sync s3://$S3_BUCKET_NAME/$S3_PATH /data"]
PLACEHOLDER_GPU = "TYPE_GPU_USED"

CHART_DEFAULTS: dict[str, Any] = {
    "image": {"repository": "vllm/vllm-openai", "tag": "latest", "command": DEFAULT_COMMAND},
    "containerPort": 8000,
    "serviceName": None,
    "servicePort": 80,
    "extraPorts": [],
    "replicaCount": 1,
    "deploymentStrategy": {},
    "progressDeadlineSeconds": 2100,
    "resources": {
        "requests": {"cpu": 4, "memory": "16Gi", "nvidia.com/gpu": 1},
        "limits": {"cpu": 4, "memory": "16Gi", "nvidia.com/gpu": 1},
    },
    "gpuModels": [PLACEHOLDER_GPU],
    "autoscaling": {"enabled": False, "minReplicas": 1, "maxReplicas": 100, "targetCPUUtilizationPercentage": 80},
    "configs": {},
    "secrets": {},
    "externalConfigs": [],
    "customObjects": [],
    "maxUnavailablePodDisruptionBudget": "",
    "extraInit": {
        "modelDownload": {
            "enabled": True,
            "image": {"repository": "amazon/aws-cli", "tag": "2.6.4", "pullPolicy": "IfNotPresent"},
            "waitContainer": {"command": ["/bin/bash"], "args": DEFAULT_WAIT_ARGS},
            "downloadJob": {"command": ["/bin/bash"], "args": DEFAULT_JOB_ARGS},
        },
        "initContainers": [],
        "s3modelpath": "relative_s3_model_path/opt-125m",
        "pvcStorage": "1Gi",
        "awsEc2MetadataDisabled": True,
    },
    "extraContainers": [],
    "readinessProbe": {"initialDelaySeconds": 5, "periodSeconds": 5, "failureThreshold": 3, "httpGet": {"path": "/health", "port": 8000}},
    "livenessProbe": {"initialDelaySeconds": 15, "failureThreshold": 3, "periodSeconds": 10, "httpGet": {"path": "/health", "port": 8000}},
    "startupProbe": {"periodSeconds": 10, "failureThreshold": 180, "httpGet": {"path": "/health", "port": 8000}},
    "labels": {"environment": "test", "release": "test"},
}

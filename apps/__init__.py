"""cdk8s apps of vllm-constructs: each module defines one Chart that only composes constructs."""

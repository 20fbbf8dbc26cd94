"""The helpers that read PromQL out of synthesized objects and series out of a /metrics page (tests/real_prometheus.py):
the real-vLLM metric checks are only as good as these."""

from __future__ import annotations

from tests.real_prometheus import adapter_query, exposed_series, relabel_configs, vllm_label_uses


def test_label_uses_collect_selector_matchers_and_grouping_labels() -> None:
    uses = vllm_label_uses(
        [
            'histogram_quantile(0.95, sum by (namespace, server, le) (rate(vllm:ttft_bucket{namespace="a",server=~"b"}[5m])))',
            'sum(vllm:waiting{pod!=""}) / count(up{job="x"})',
            'server:vllm_waiting:sum{namespace="a"} > 3',  # a recorded series, not a vLLM metric
        ]
    )
    assert uses == {"vllm:ttft_bucket": {"namespace", "server", "le"}, "vllm:waiting": {"pod"}}


def test_exposed_series_reads_names_and_label_names() -> None:
    page = (
        "# HELP vllm:num_requests_waiting Number of requests waiting.\n"
        "# TYPE vllm:num_requests_waiting gauge\n"
        'vllm:num_requests_waiting{engine="0",model_name="tiny"} 0.0\n'
        'vllm:ttft_bucket{engine="0",le="0.5",model_name="tiny \\"q\\", x"} 3.0\n'
        "process_cpu_seconds_total 1.5\n"
    )
    assert exposed_series(page) == {
        "vllm:num_requests_waiting": {"engine", "model_name"},
        "vllm:ttft_bucket": {"engine", "le", "model_name"},
        "process_cpu_seconds_total": set(),
    }


def test_adapter_query_fills_the_template_markers() -> None:
    rule = {"name": {"matches": "^vllm:x$"}, "metricsQuery": "sum by (<<.GroupBy>>) (<<.Series>>{<<.LabelMatchers>>})"}
    assert adapter_query(rule, 'namespace="a"', "pod") == 'sum by (pod) (vllm:x{namespace="a"})'


def test_relabel_configs_translate_operator_fields() -> None:
    out = relabel_configs([{"sourceLabels": ["__meta_kubernetes_namespace"], "targetLabel": "namespace", "action": "replace"}])
    assert out == [{"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace", "action": "replace"}]

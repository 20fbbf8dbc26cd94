"""Plans as a text table and as an SVG chart of each GPU's memory (weights, KV cache, overhead, free). Pure text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

__all__ = ["plan_table", "memory_chart_svg"]

_COLUMNS = (
    ("server", "server"),
    ("model", "model"),
    ("gpu", "gpu"),
    ("gpus_per_pod", "gpus/pod"),
    ("gpus", "gpus"),
    ("gpus_peak_rollout", "rollout peak"),
    ("gpus_at_max_replicas", "at max"),
    ("weights_gib_per_gpu", "weights GiB/gpu"),
    ("kv_cache_gib_per_gpu", "kv GiB/gpu"),
    ("kv_cache_tokens", "kv tokens"),
    ("max_model_len", "max len"),
    ("max_concurrency", "concurrency"),
    ("fits", "fits"),
    ("startup", "startup est/budget s"),
)


def _cell(row: Mapping[str, Any], key: str) -> str:
    if key == "startup":
        est, budget = row.get("estimated_startup_seconds"), row.get("startup_budget_seconds")
        return f"{est if est is not None else '?'}/{budget if budget is not None else '?'}"
    value = row.get(key)
    if value is None:
        return "?" if key not in ("gpus_at_max_replicas", "server") else "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return f"{value:,}" if isinstance(value, int) else str(value)


def plan_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """One line per plan (the JSON of CapacityPlan.to_json or of the ad hoc plan), '?' for what is unknown, and the
    reasons below the table."""
    cells = [[title for _, title in _COLUMNS], *[[_cell(r, key) for key, _ in _COLUMNS] for r in rows]]
    widths = [max(len(line[i]) for line in cells) for i in range(len(_COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r in rows:
        lines += [f"{r.get('server') or r.get('model')}: unknown {reason}" for reason in r.get("unknown") or ()]
    return "\n".join(lines) + "\n"


_SEGMENTS = (("weights", "#4e79a7"), ("kv cache", "#59a14f"), ("overhead", "#f28e2b"), ("free", "#d3d3d3"))
_WIDTH, _BAR, _LEFT, _ROW = 760, 26, 230, 56


def _parts(row: Mapping[str, Any]) -> list[float] | None:
    total = row.get("gpu_memory_gib")
    weights, kv, overhead = row.get("weights_gib_per_gpu"), row.get("kv_cache_gib_per_gpu"), row.get("overhead_gib_per_gpu")
    if not all(isinstance(v, int | float) for v in (total, weights, kv, overhead)):
        return None
    used = [float(weights), float(kv), float(overhead)]  # type: ignore[arg-type]
    return [*used, max(float(total) - sum(used), 0.0)]  # type: ignore[arg-type]


def memory_chart_svg(rows: Sequence[Mapping[str, Any]], title: str = "Memory of one GPU per server") -> str:
    """A horizontal bar per server: one GPU's memory split into weights, KV cache, overhead and free (the share
    gpu_memory_utilization leaves, where CUDA graphs live). Servers with unknown facts get a note instead of a bar."""
    height = 70 + _ROW * len(rows) + 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH + _LEFT + 20}" height="{height}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<text x="10" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (name, color) in enumerate(_SEGMENTS):
        x = _LEFT + i * 130
        out.append(f'<rect x="{x}" y="34" width="12" height="12" fill="{color}"/><text x="{x + 16}" y="44">{name}</text>')
    for index, row in enumerate(rows):
        out += _bar(row, 70 + _ROW * index)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _bar(row: Mapping[str, Any], y: int) -> list[str]:
    label = escape(str(row.get("server") or row.get("model") or "?"))
    gpu = escape(str(row.get("gpu") or "unknown GPU"))
    out = [f'<text x="10" y="{y + 12}" font-weight="bold">{label}</text>', f'<text x="10" y="{y + 28}">{gpu}</text>']
    parts = _parts(row)
    if parts is None:
        out.append(
            f'<text x="{_LEFT}" y="{y + 18}" fill="#a00">plan unknown: {escape("; ".join(row.get("unknown") or ["missing facts"]))}</text>'
        )
        return out
    total, x = sum(parts), float(_LEFT)
    for value, (name, color) in zip(parts, _SEGMENTS, strict=True):
        width = _WIDTH * value / total if total else 0
        out.append(
            f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{_BAR}" fill="{color}"><title>{name}: {value:.2f} GiB</title></rect>'
        )
        if width > 44:
            out.append(f'<text x="{x + 4:.1f}" y="{y + 17}" fill="white">{value:.1f}</text>')
        x += width
    fits = row.get("fits")
    tokens = row.get("kv_cache_tokens") or 0
    note = f"{total:.1f} GiB; {tokens:,} tokens; {row.get('max_concurrency')}x max len; fits: {'yes' if fits else 'NO'}"
    out.append(f'<text x="{_LEFT}" y="{y + _BAR + 14}" fill="#333">{escape(note)}</text>')
    return out

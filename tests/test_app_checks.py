"""App-wide checks before anything is written: hand-added objects that collide with the constructs' objects or each
other, and escape-hatch JSON patches that cannot apply, become ConfigError naming the object (never a jsii error with
JavaScript frames), through vllm_constructs.synth(app) and through plain app.synth()."""

from __future__ import annotations

from pathlib import Path

import cdk8s
import pytest

from vllm_constructs import ConfigError, ModelSource, Resources, VllmServer, VllmServerProps, check_app, synth
from vllm_constructs.app import lint_and_synth_all
from vllm_constructs.lint import report


def _app(tmp_path: Path) -> tuple[cdk8s.App, cdk8s.Chart, VllmServer]:
    app = cdk8s.App(outdir=str(tmp_path / "out"))
    chart = cdk8s.Chart(app, "t", namespace="t")
    server = VllmServer(chart, "s", VllmServerProps(name="srv", model=ModelSource.image("/m"), resources=Resources(cpu="1", memory="1Gi")))
    return app, chart, server


def test_a_hand_added_object_colliding_with_a_server_is_refused_before_writing(tmp_path: Path) -> None:
    app, chart, _ = _app(tmp_path)
    cdk8s.ApiObject(chart, "mine", api_version="v1", kind="Service", metadata=cdk8s.ApiObjectMetadata(name="srv"))
    with pytest.raises(ConfigError) as info:
        synth(app)
    assert str(info.value).startswith("t/mine: Service/srv='srv' is also emitted by t/s in namespace 't'")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_plain_app_synth_refuses_the_same_collision(tmp_path: Path) -> None:
    app, _, _ = _app(tmp_path)
    other = cdk8s.Chart(app, "u")  # no namespace: the objects land in 'default'
    cdk8s.ApiObject(other, "a", api_version="v1", kind="ConfigMap", metadata=cdk8s.ApiObjectMetadata(name="x"))
    cdk8s.ApiObject(
        cdk8s.Chart(app, "v", namespace="default"), "b", api_version="v1", kind="ConfigMap", metadata=cdk8s.ApiObjectMetadata(name="x")
    )
    with pytest.raises(RuntimeError) as info:
        app.synth()
    assert "v/b: ConfigMap/x='x' is also emitted by u/a in namespace 'default'" in str(info.value)
    assert not list((tmp_path / "out").glob("*.yaml"))


def test_an_escape_hatch_patch_that_cannot_apply_names_its_object(tmp_path: Path) -> None:
    app, _, server = _app(tmp_path)
    cdk8s.ApiObject.of(server).add_json_patch(cdk8s.JsonPatch.replace("/spec/nope/deeper", 1))
    with pytest.raises(ConfigError) as info:
        synth(app)
    message = str(info.value)
    assert message.startswith(
        "t/s/Resource: (construct)='RuntimeError' was refused by cdk8s: Failed serializing construct at path 't/s/Resource'"
    )
    assert "    at " not in message


def test_escape_hatch_patches_that_apply_are_kept(tmp_path: Path) -> None:
    app, _, server = _app(tmp_path)
    cdk8s.ApiObject.of(server).add_json_patch(cdk8s.JsonPatch.add("/spec/minReadySeconds", 30))
    check_app(app)
    synth(app)
    assert "minReadySeconds: 30" in (tmp_path / "out" / "t.k8s.yaml").read_text()


def test_several_apps_are_all_checked_before_any_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, _, _ = _app(tmp_path / "good")
    bad, chart, _ = _app(tmp_path / "bad")
    cdk8s.ApiObject(chart, "mine", api_version="v1", kind="Service", metadata=cdk8s.ApiObjectMetadata(name="srv"))
    with pytest.raises(ConfigError, match="Service/srv='srv' is also emitted by t/s"):
        lint_and_synth_all([("good", good), ("bad", bad)])
    assert not (tmp_path / "good" / "out").exists()  # the first App was not written either
    assert not (tmp_path / "bad" / "out").exists()
    first = capsys.readouterr().err.splitlines()
    assert any(line.startswith("lint: good: ") for line in first) and any(line.startswith("lint: bad: ") for line in first)
    lint_and_synth_all([("good", good)])
    assert list((tmp_path / "good" / "out").iterdir())
    # Lint lines say which App they come from (the image tag is mutable in _app's server).
    second = capsys.readouterr().err.splitlines()
    assert second and all(line.startswith("lint: good: ") for line in second)


def test_the_lint_label_heads_every_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app, _, _ = _app(tmp_path)
    report(app, label="dist/fleet/dev/us-east")
    err = capsys.readouterr().err.splitlines()
    assert err and all(line.startswith("lint: dist/fleet/dev/us-east: warning [") for line in err)

"""The weights tool: registry, MissingWeightsError, convert/verify with sha256, fetch without network."""
from __future__ import annotations

import io
import json
import urllib.error
from pathlib import Path

import pytest

from facehalluc.config import load_config
from facehalluc.weights import (FetchError, MissingWeightsError, SourceFile, WeightSpec,
                                WeightsIntegrityError,
                                all_specs, cache_dir, convert, fetch, sha256_file, status,
                                weights_path)
import facehalluc.nets.weight_specs as registry  # the specs live beside the nets (and register themselves)
from facehalluc.weights import registry as weights_registry
from facehalluc.weights.__main__ import main
from support.lpips_files import write_synthetic_lpips_files

NAMES = {"lpips_alex_v0.0", "lpips_alex_v0.1", "vggface", "dlib_resnet", "resnet50_256d_vggface2", "fid_inception",
         "pieapp_v0.1"}


@pytest.fixture(scope="module")
def lpips_sources(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return write_synthetic_lpips_files(tmp_path_factory.mktemp("lpips_src"))


def test_registry_covers_all_networks() -> None:
    specs = all_specs()
    assert set(specs) == NAMES
    for spec in specs.values():
        assert spec.sources and spec.licence and spec.homepage
    for name in ("lpips_alex_v0.0", "lpips_alex_v0.1", "vggface"):
        assert callable(specs[name].converter)
    # the LPIPS hashes of the shared README are the known ones
    known = specs["lpips_alex_v0.0"].sources[1].sha256
    assert "18720f55913d0af89042f13faa7e536a6ce1444a0914e6db9461355ece1e8cd5" in known


def test_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FACEHALLUC_WEIGHTS", str(tmp_path / "env"))
    assert cache_dir() == tmp_path / "env"
    cfg = load_config("paper", [f"weights.cache_dir={tmp_path / 'cfg'}"])
    assert cache_dir(cfg) == tmp_path / "cfg"
    monkeypatch.delenv("FACEHALLUC_WEIGHTS")
    assert cache_dir() == Path.home() / ".cache" / "facehalluc"


@pytest.mark.parametrize("name", ["lpips_alex_v0.0", "lpips_alex_v0.1", "vggface"])
def test_missing_weights_message_has_the_commands(tmp_path: Path, name: str) -> None:
    cfg = load_config("paper", [f"weights.cache_dir={tmp_path}"])
    with pytest.raises(MissingWeightsError) as info:
        weights_path(name, cfg)
    msg = str(info.value)
    srcs = " ".join(s.filename for s in all_specs()[name].sources)
    assert f"python -m facehalluc.weights convert {name} --src {srcs}" in msg
    assert f"python -m facehalluc.weights fetch {name}" in msg
    assert str(tmp_path) in msg


def test_convert_records_and_checks_sha256(tmp_path: Path, lpips_sources) -> None:
    alex, l0, _ = lpips_sources
    cache = tmp_path / "cache"
    with pytest.raises(WeightsIntegrityError, match="--force"):
        convert("lpips_alex_v0.0", [alex, l0], cache=cache)  # synthetic files: unknown hashes
    out = convert("lpips_alex_v0.0", [alex, l0], cache=cache, force=True)
    record = json.loads((cache / "lpips_alex_v0.0.json").read_text())
    assert record["sha256"] == sha256_file(out)
    assert {Path(s["file"]).name: s["sha256"] for s in record["sources"]} == {
        alex.name: sha256_file(alex), l0.name: sha256_file(l0)}
    cfg = load_config("paper", [f"weights.cache_dir={cache}"])
    assert weights_path("lpips_alex_v0.0", cfg) == out
    assert status("lpips_alex_v0.0", cache=cache).ok
    # tampering is detected on load and by verify
    with open(out, "ab") as f:
        f.write(b"\0")
    with pytest.raises(WeightsIntegrityError, match="sha256"):
        weights_path("lpips_alex_v0.0", cfg)
    assert main(["--cache", str(cache), "verify"]) == 1
    with pytest.raises(ValueError, match="needs 2 source"):
        convert("lpips_alex_v0.0", [alex], cache=cache, force=True)


def test_spec_without_converter_or_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bare = WeightSpec(name="bare", description="d", sources=(SourceFile("bare.bin", None, (), "by hand"),),
                      licence="l", homepage="h", used_by="u")
    monkeypatch.setattr(weights_registry, "registry_specs", lambda: (bare,))
    src = tmp_path / "bare.bin"
    src.write_bytes(b"x")
    with pytest.raises(NotImplementedError, match="no converter"):
        convert("bare", [src], cache=tmp_path)
    with pytest.raises(FetchError, match="no public download URL"):
        fetch("bare", cache=tmp_path)
    with pytest.raises(MissingWeightsError) as info:
        weights_path("bare", load_config("paper", [f"weights.cache_dir={tmp_path}"]))
    assert "convert bare --src bare.bin" in str(info.value) and "fetch bare" not in str(info.value)


class _FakeResponse(io.BytesIO):
    def __enter__(self) -> "_FakeResponse":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def test_fetch_uses_only_the_given_opener(tmp_path: Path, lpips_sources) -> None:
    alex, _, l1 = lpips_sources
    served = {s.url: p.read_bytes() for s, p in zip(all_specs()["lpips_alex_v0.1"].sources, (alex, l1))}
    calls: list[str] = []

    def opener(url: str, timeout: float) -> _FakeResponse:
        calls.append(url)
        return _FakeResponse(served[url])

    with pytest.raises(FetchError, match="expected one of"):  # synthetic bytes: wrong sha256
        fetch("lpips_alex_v0.1", cache=tmp_path, opener=opener)
    out = fetch("lpips_alex_v0.1", cache=tmp_path, opener=opener, force=True)
    assert out == tmp_path / "lpips_alex_v0.1.weights.h5" and out.is_file()
    assert set(calls) == set(served)
    assert (tmp_path / "downloads" / "lpips_v0.1_alex.pth").read_bytes() == l1.read_bytes()


def test_fetch_without_internet_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(url: str, timeout: float) -> None:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    with pytest.raises(FetchError, match=r"internet.*convert lpips_alex_v0\.0 --src"):
        fetch("lpips_alex_v0.0", cache=tmp_path, opener=offline)
    assert not list((tmp_path / "downloads").glob(".*part"))
    # the real opener against an unreachable local URL (nothing leaves the machine)
    monkeypatch.setattr(registry, "LPIPS_V00", SourceFile("lpips_v0.0_alex.pth", "http://127.0.0.1:9/alex.pth"))
    monkeypatch.setattr(registry, "LPIPS_ALEXNET", SourceFile("alexnet.pth", "http://127.0.0.1:9/a.pth"))
    with pytest.raises(FetchError, match="127.0.0.1:9"):
        fetch("lpips_alex_v0.0", cache=tmp_path, timeout=5)


def test_cli_list_convert_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], lpips_sources) -> None:
    assert main(["--cache", str(tmp_path), "list"]) == 0
    out = capsys.readouterr().out
    for name in NAMES:
        assert f"\n{name}:" in out
    assert main(["--cache", str(tmp_path), "convert", "nope", "--src", str(lpips_sources[0])]) == 2
    assert "unknown weights" in capsys.readouterr().err
    assert main(["--cache", str(tmp_path), "convert", "lpips_alex_v0.0", "--force", "--src",
                 str(lpips_sources[1]), str(lpips_sources[0])]) == 0
    assert main(["--cache", str(tmp_path), "verify"]) == 0
    assert "lpips_alex_v0.0            ok" in capsys.readouterr().out

"""``python -m facehalluc.app``: the JSON API on a real server (port 0, in a thread), the command line,
and the page itself in headless Chromium (skipped when selenium / chromium / chromedriver are missing)."""
from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from facehalluc.app import API_PATH, DEFAULT_MAX_UPLOAD_BYTES, AppServer, HallucinationService, serve_in_thread
from support.apps import astronaut_path
from support.paths import REPO

MAX_UPLOAD = 2 * 1024 * 1024  # the test server's limit (the default is 20 MB)


def png_bytes(img: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def noise_png() -> bytes:
    """A 256x256 image of uniform noise: decodes fine, holds no face."""
    return png_bytes(np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8))


def decode_data_url(src: str) -> np.ndarray:
    from PIL import Image

    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), src[:40]
    with Image.open(io.BytesIO(base64.b64decode(src[len(prefix):]))) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGB"))


def request(url: str, data: bytes | None = None, method: str | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) without raising on 4xx/5xx."""
    req = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"),
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def upload(base: str, data: bytes, filename: str = "photo.png") -> tuple[int, dict[str, Any]]:
    status, headers, body = request(f"{base}{API_PATH.lstrip('/')}?filename={filename}", data)
    assert headers["Content-Type"].startswith("application/json"), headers
    return status, json.loads(body)


@pytest.fixture(scope="module")
def hallucinator():
    from facehalluc.infer import ModelPathError, load_hallucinator

    try:
        return load_hallucinator("default")
    except ModelPathError as e:
        pytest.fail(f"the shipped generator is part of the package and must load: {e}")


@pytest.fixture(scope="module")
def server(hallucinator) -> Iterator[AppServer]:
    srv = serve_in_thread(HallucinationService(hallucinator, max_upload_bytes=MAX_UPLOAD), port=0)
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def astronaut_result(server) -> dict[str, Any]:
    status, payload = upload(server.url, astronaut_path().read_bytes(), "astronaut.png")
    assert status == 200, payload
    return payload


# --- the JSON API -------------------------------------------------------------------------------------
def test_page_and_info(server):
    status, headers, body = request(server.url)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = body.decode("utf-8")
    assert 'type="file"' in page and 'id="photo"' in page and "docs/model_card.md" in page
    assert "{{" not in page, "an unfilled template placeholder"
    assert "default (the generator shipped with facehalluc)" in page and "2 MB" in page
    status, _, body = request(server.url + "api/info")
    info = json.loads(body)
    assert status == 200 and info["ok"] and info["max_upload_bytes"] == MAX_UPLOAD
    assert info["resolutions"] == [8, 16, 32, 64, 128]
    assert DEFAULT_MAX_UPLOAD_BYTES == 20 * 1024 * 1024


def test_astronaut_images(astronaut_result, hallucinator):
    from PIL import Image

    r = astronaut_result
    assert r["ok"] and r["filename"] == "astronaut.png" and r["photo_size"] == [512, 512]
    keys = [s["key"] for s in r["stages"]]
    assert keys == ["masked", "out_8", "out_16", "out_32", "out_64", "out_128"]
    imgs = {s["key"]: decode_data_url(s["src"]) for s in r["stages"]}
    for s in r["stages"]:
        assert imgs[s["key"]].shape == (128, 128, 3) and (s["width"], s["height"]) == (128, 128), s["key"]
    for res in (8, 16, 32, 64):  # blocks are shown enlarged with nearest neighbour: constant f x f tiles
        f = 128 // res
        img = imgs[f"out_{res}"].astype(np.int16)
        tiles = img.reshape(res, f, res, f, 3)
        assert np.array_equal(tiles, np.broadcast_to(tiles[:, :1, :, :1], tiles.shape)), res
        assert np.ptp(img) > 20, f"block_{res} output is flat"
    masked, out = imgs["masked"], imgs["out_128"]
    face = masked.max(-1) > 0
    assert 0.05 < face.mean() < 0.7, face.mean()
    assert np.array_equal(out[face], masked[face]), "face pixels must pass through unchanged"
    assert np.abs(out[~face].astype(int) - masked[~face]).mean() > 20, "nothing hallucinated outside the face"
    # the API's result is the model's output for the API's masked input (the preprocessor's hull mask
    # equals the non-zero pixels of the masked face, see docs/inference.md)
    # Tolerance 1.5/255: the API's PNG is the output rounded to uint8 (≤ 0.5/255; measured 0.50/255 for this
    # photo, so that is all the difference there is), plus 1/255 of margin in case the masked face the model
    # saw was not exactly the uint8 one `ref` starts from. Both sides run the same kernels on the same
    # machine in the same process, so no CPU-dependent term enters.
    ref = hallucinator.run(masked[None].astype(np.float32) / 255.0)["out_128"][0]
    assert np.abs(out.astype(np.float32) / 255.0 - ref).max() <= 1.5 / 255.0
    aligned = decode_data_url(r["extras"]["aligned"]["src"])
    assert aligned.shape == (128, 128, 3) and np.array_equal(aligned[face], masked[face])
    pasted = decode_data_url(r["extras"]["pasted"]["src"])
    photo = np.asarray(Image.open(astronaut_path()).convert("RGB"))
    assert pasted.shape == photo.shape
    changed = np.abs(pasted.astype(int) - photo).max(-1) > 8
    assert 0.01 < changed.mean() < 0.6, changed.mean()
    assert r["stages"][-1]["filename"] == "astronaut.png"
    assert r["extras"]["pasted"]["filename"] == "astronaut_pasted.png"
    assert set(r["seconds"]) >= {"align", "generator", "total"}


def test_no_face_then_recovers(server):
    status, payload = upload(server.url, noise_png(), "noise.png")
    assert status == 422, payload
    assert payload == {"ok": False, "error": "no_face", "message": payload["message"]}
    assert payload["message"].startswith("noise.png: no face found"), payload["message"]
    status, payload = upload(server.url, astronaut_path().read_bytes(), "astronaut.png")
    assert status == 200 and payload["ok"], "the server must keep working after a failed upload"


@pytest.mark.parametrize("data,code", [(b"this is not an image\x00\xff" * 10, "unreadable"),
                                       (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "unreadable")],
                         ids=["text", "truncated-png"])
def test_garbage_bytes(server, data, code):
    status, payload = upload(server.url, data, "junk.jpg")
    assert status == 422 and payload["error"] == code, payload
    msg = payload["message"]
    assert msg.startswith("junk.jpg: ") and ("not an image" in msg or "corrupt" in msg), msg
    assert "facehalluc_app_" not in msg, "the temporary file's path leaked into the message"


def test_oversized_and_empty_uploads(server):
    status, payload = upload(server.url, b"\0" * (MAX_UPLOAD + 1), "big.jpg")
    assert status == 413 and payload["error"] == "too_large_upload", payload
    assert "the limit is 2 MB" in payload["message"], payload["message"]
    status, payload = upload(server.url, b"", "empty.jpg")
    assert status == 400 and payload["error"] == "empty_upload", payload
    status, payload = upload(server.url, astronaut_path().read_bytes(), "astronaut.png")
    assert status == 200, payload


def test_protocol_errors(server):
    status, headers, body = request(server.url + API_PATH.lstrip("/"))
    assert status == 405 and headers["Allow"] == "POST" and json.loads(body)["error"] == "method_not_allowed"
    status, _, body = request(server.url + "nope")
    assert status == 404 and json.loads(body)["error"] == "not_found"
    status, _, body = request(server.url + API_PATH.lstrip("/"), b"--x\r\n",
                              headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert status == 415 and "--data-binary" in json.loads(body)["message"]


def test_concurrent_uploads(server):
    """The model and preprocessor locks let several requests run at once with correct answers."""
    data = astronaut_path().read_bytes()
    results: list[tuple[int, dict[str, Any]]] = []

    def worker(payload: bytes, name: str) -> None:
        results.append(upload(server.url, payload, name))

    threads = [threading.Thread(target=worker, args=(d, n)) for d, n in
               [(data, "a.png"), (noise_png(), "n.png"), (data, "b.png"), (data, "c.png")]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    by_name = {p.get("filename") or p["message"].split(":")[0]: (s, p) for s, p in results}
    assert sorted(by_name) == ["a.png", "b.png", "c.png", "n.png"]
    assert by_name["n.png"][0] == 422
    outs = [decode_data_url(by_name[n][1]["stages"][-1]["src"]) for n in ("a.png", "b.png", "c.png")]
    assert all(by_name[n][0] == 200 for n in ("a.png", "b.png", "c.png"))
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])


def test_command_line(tmp_path):
    """``python -m facehalluc.app --port 0`` loads the model, prints the URL and serves the page."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    bad = subprocess.run([sys.executable, "-m", "facehalluc.app", "--model", str(tmp_path / "missing")],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "cannot load model" in bad.stderr, bad.stderr[-2000:]
    proc = subprocess.Popen([sys.executable, "-m", "facehalluc.app", "--port", "0", "--quiet"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = None
        assert proc.stdout is not None
        for line in proc.stdout:  # "facehalluc.app: serving keras model 'default' at http://127.0.0.1:PORT/ ..."
            if " at http://" in line:
                url = line.split(" at ", 1)[1].split()[0]
                break
        assert url, "no URL printed"
        status, _, body = request(url)
        assert status == 200 and b'id="photo"' in body
        status, payload = upload(url, noise_png(), "noise.png")
        assert status == 422 and payload["error"] == "no_face"
    finally:
        proc.terminate()
        proc.wait(30)


# --- the page in a real browser -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    from support.browser import find_chromium, headless_chromium

    found = find_chromium()
    if isinstance(found, str):
        pytest.skip(f"browser test needs selenium, chromium and chromedriver: {found}")
    driver = headless_chromium(1280, 900)
    yield driver
    driver.quit()


def _wait(driver, condition_js: str, timeout: float = 60.0) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(lambda d: d.execute_script(condition_js))


def test_page_in_browser(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    noise = tmp_path / "noise.png"
    noise.write_bytes(noise_png())
    browser.get(server.url)
    assert "facehalluc" in browser.title
    assert "docs/model_card.md" in browser.find_element(By.ID, "model-note").text
    assert not browser.find_element(By.ID, "results").is_displayed()

    photo_input = browser.find_element(By.ID, "photo")
    photo_input.send_keys(str(astronaut_path()))
    _wait(browser, "const im = document.getElementById('result');"
                   "return !document.getElementById('results').hidden && im.complete && im.naturalWidth > 0;")
    result = browser.find_element(By.ID, "result")
    assert result.get_attribute("src").startswith("data:image/png;base64,")
    assert browser.execute_script("return arguments[0].naturalWidth", result) == 128
    assert result.is_displayed() and not browser.find_element(By.ID, "error").is_displayed()
    _wait(browser, "return [...document.querySelectorAll('#stages img, #pasted, #aligned')]"
                   ".every(im => im.complete && im.naturalWidth > 0);")
    captions = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#stages figcaption")]
    assert len(captions) == 6 and captions[0].startswith("masked input")
    assert [c.split(":")[0] for c in captions[1:]] == ["block_8", "block_16", "block_32", "block_64", "block_128"]
    assert browser.execute_script("return document.getElementById('pasted').naturalWidth") == 512
    for link_id, name in (("download-result", "astronaut.png"), ("download-pasted", "astronaut_pasted.png")):
        link = browser.find_element(By.ID, link_id)
        assert link.is_displayed() and link.get_attribute("download") == name
        assert link.get_attribute("href").startswith("data:image/png;base64,")

    photo_input.send_keys(str(noise))
    _wait(browser, "return !document.getElementById('error').hidden;")
    error = browser.find_element(By.ID, "error")
    assert error.is_displayed() and "noise.png: no face found" in error.text, error.text
    assert not browser.find_element(By.ID, "results").is_displayed(), "a stale result is still shown"
    assert photo_input.is_enabled(), "the page must accept the next upload"

    big = tmp_path / "big.jpg"  # refused by the page before it is sent
    big.write_bytes(b"\0" * (MAX_UPLOAD + 1))
    photo_input.send_keys(str(big))
    _wait(browser, "return document.getElementById('error').textContent.startsWith('big.jpg');")
    assert "the limit is 2 MB" in error.text, error.text

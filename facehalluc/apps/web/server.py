"""The HTTP side: a standard-library ``ThreadingHTTPServer`` serving the page and a JSON API.

Routes:

* ``GET /`` — the page (``static/index.html``);
* ``GET /api/info`` — the model and the upload limit, JSON;
* ``POST /api/hallucinate[?filename=NAME][&samples=K&seed=S]`` — body: the photo file's raw bytes (any image type
  Pillow reads); response: JSON, ``{"ok": true, "stages": [...], "extras": {...}, ...}`` with every
  image as a ``data:image/png;base64,...`` URL, or ``{"ok": false, "error": CODE, "message": TEXT}``
  with status 400 (empty), 411 (no Content-Length), 413 (over the limit), 415 (a multipart form
  instead of raw bytes), 422 (unreadable image, no face) or 500 (unexpected; the server goes on).
"""
from __future__ import annotations

import html
import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .service import AppError, HallucinationService, format_bytes

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX_NAME = "index.html"
API_PATH = "/api/hallucinate"
DRAIN_LIMIT = 256 * 1024 * 1024  # an oversized body up to this size is read and dropped, so the client sees the 413
_CHUNK = 1024 * 1024
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; img-src 'self' data: blob:; style-src 'unsafe-inline'; "
                               "script-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; "
                               "base-uri 'none'; frame-ancestors 'none'",
}


def render_index(service: HallucinationService) -> bytes:
    """The page with the model's name and the upload limit filled in."""
    text = (STATIC_DIR / INDEX_NAME).read_text(encoding="utf-8")
    values = {"{{MODEL}}": html.escape(service.model_name), "{{MODEL_SOURCE}}": html.escape(service.model.source),
              "{{MAX_UPLOAD_BYTES}}": str(service.max_upload_bytes),
              "{{MAX_UPLOAD}}": html.escape(format_bytes(service.max_upload_bytes))}
    for key, value in values.items():
        text = text.replace(key, value)
    return text.encode("utf-8")


class AppServer(ThreadingHTTPServer):
    """One thread per request (daemon threads: Ctrl+C does not wait for them); ``service`` does the work."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: HallucinationService):
        self.service = service
        self.index_html = render_index(service)
        super().__init__(address, AppHandler)

    @property
    def url(self) -> str:
        """``http://HOST:PORT/``, with the real port (when bound to port 0) and 127.0.0.1 for a wildcard host."""
        host, port = self.server_address[:2]
        if host in ("", "0.0.0.0", "::"):
            host = "127.0.0.1"
        if ":" in str(host):
            host = f"[{host}]"
        return f"http://{host}:{port}/"


class AppHandler(BaseHTTPRequestHandler):
    """Routes requests to the :class:`AppServer`'s service; every API answer is JSON."""

    server: AppServer
    server_version = "facehalluc-app"
    timeout = 120  # seconds of socket inactivity before a connection is dropped

    # --- responses -----------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in {**_SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode("utf-8"), "application/json; charset=utf-8", extra)

    def _send_error(self, err: AppError, extra: dict[str, str] | None = None) -> None:
        self._send_json(err.status, err.to_json(), extra)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's signature
        log.info("%s %s", self.address_string(), format % args)

    # --- routes --------------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = urlsplit(self.path).path
        if path in ("/", "/" + INDEX_NAME):
            self._send(200, self.server.index_html, "text/html; charset=utf-8")
        elif path == "/api/info":
            self._send_json(200, {"ok": True, **self.server.service.describe()})
        elif path == "/favicon.ico":
            self.send_response(HTTPStatus.NO_CONTENT)
            self.end_headers()
        elif path == API_PATH:
            self._send_error(AppError(405, "method_not_allowed", f"{API_PATH} takes a POST of the photo's bytes"),
                             {"Allow": "POST"})
        else:
            self._send_error(AppError(404, "not_found", f"no page at {path}"))

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        if url.path != API_PATH:
            self._send_error(AppError(404, "not_found", f"no API at {url.path} (POST photos to {API_PATH})"))
            return
        query = parse_qs(url.query)
        filename = (query.get("filename") or ["upload"])[0]
        try:
            try:
                samples = int((query.get("samples") or ["1"])[0])
                seed = int((query.get("seed") or ["0"])[0])
            except ValueError:
                raise AppError(400, "bad_query", "samples and seed must be whole numbers") from None
            data = self._read_body()
            result = self.server.service.hallucinate(data, filename, samples, seed)
            payload = result.to_json()
        except AppError as e:
            log.info("%s: %s (%s)", filename, e.message, e.code)
            self._send_error(e, {"Connection": "close"} if e.status in (411, 413) else None)
            return
        except Exception as e:  # noqa: BLE001 - report it and keep serving
            log.exception("%s: unexpected error", filename)
            self._send_error(AppError(500, "internal_error", f"{filename}: internal error "
                                      f"({e.__class__.__name__}: {e}); see the server's log"))
            return
        self._send_json(200, payload)

    def _read_body(self) -> bytes:
        """The request body, checked against the upload limit before it is read."""
        if "multipart/form-data" in (self.headers.get("Content-Type") or ""):
            self._drain(self._content_length(required=False))
            raise AppError(415, "multipart_not_supported", "Send the image file's raw bytes as the request body "
                           "(e.g. curl --data-binary @photo.jpg), not a multipart form.")
        n = self._content_length(required=True)
        try:
            self.server.service.check_size(n)
        except AppError:
            self._drain(n)
            raise
        data = self.rfile.read(n)
        if len(data) != n:
            raise AppError(400, "incomplete_upload", f"The upload ended after {len(data)} of {n} bytes.")
        return data

    def _content_length(self, required: bool) -> int:
        raw = self.headers.get("Content-Length")
        if raw is None:
            if required:
                raise AppError(411, "length_required", "The upload needs a Content-Length header "
                               "(chunked uploads are not supported).")
            return 0
        try:
            n = int(raw)
        except ValueError:
            raise AppError(400, "bad_content_length", f"Content-Length {raw!r} is not a number.") from None
        if n < 0:
            raise AppError(400, "bad_content_length", f"Content-Length {n} is negative.")
        return n

    def _drain(self, n: int) -> None:
        """Reads and drops a body we refuse, so the client finishes sending and reads our answer
        (closing on a client that is still sending makes browsers report a reset instead)."""
        if n > DRAIN_LIMIT:
            return  # too big to bother: the connection is closed after the answer
        while n > 0:
            chunk = self.rfile.read(min(n, _CHUNK))
            if not chunk:
                break
            n -= len(chunk)


def make_server(service: HallucinationService, host: str = "127.0.0.1", port: int = 7860) -> AppServer:
    """Binds (port 0: any free port; see :attr:`AppServer.url`); call ``serve_forever()`` to run it."""
    return AppServer((host, port), service)


def serve_in_thread(service: HallucinationService, host: str = "127.0.0.1", port: int = 0) -> AppServer:
    """Starts the server in a daemon thread and returns it; stop it with ``server.shutdown()`` then
    ``server.server_close()``.  Used by the tests and ``docs/tools/app_screenshot.py``."""
    server = make_server(service, host, port)
    threading.Thread(target=server.serve_forever, name="facehalluc-app", daemon=True).start()
    return server

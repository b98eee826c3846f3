"""``python -m facehalluc.app``: a local web page for the generator (see ``docs/app.md``); its command line is
:mod:`facehalluc.apps.web.cli`.

Upload a photo and see the masked face the generator gets, each block's output (8x8 ... 64x64,
enlarged with nearest neighbour), the 128x128 result and its paste-back into the photo, with
downloads.  Standard library only (``http.server``): it works offline with the pinned stack.

    from facehalluc.apps.web import HallucinationService, serve_in_thread
    from facehalluc.infer import load_hallucinator
    server = serve_in_thread(HallucinationService(load_hallucinator("default")), port=0)
    print(server.url)   # ... server.shutdown(); server.server_close()

* :class:`HallucinationService` — photo bytes -> :class:`Hallucination` (no HTTP; thread-safe);
* :func:`make_server` / :func:`serve_in_thread` — the ``ThreadingHTTPServer`` with the page and
  ``POST /api/hallucinate`` (raw photo bytes in, JSON with base64 PNG data URLs out).
"""
from .server import API_PATH, AppServer, make_server, serve_in_thread
from .service import DEFAULT_MAX_UPLOAD_BYTES, AppError, Hallucination, HallucinationService, Picture

__all__ = ["API_PATH", "AppServer", "make_server", "serve_in_thread", "DEFAULT_MAX_UPLOAD_BYTES", "AppError",
           "Hallucination", "HallucinationService", "Picture"]

#!/usr/bin/env python
"""Screenshot of ``python -m facehalluc.app`` after one upload -> ``docs/img/app_screenshot.png``.

    python docs/tools/app_screenshot.py [--model default] [--photo PATH] [--out docs/img/app_screenshot.png]

Starts the server on a free local port, opens the page in headless Chromium (Selenium; needs
``apt-get install chromium chromium-driver`` and ``pip install selenium``; the driver is the tests' own,
``tests/support/browser.py``, so this tool runs from a checkout), uploads the photo
(default: scikit-image's bundled ``astronaut.png``), waits for the result and saves a 1280x900
screenshot.  See docs/app.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def default_photo() -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data" / "astronaut.png"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--photo", type=Path, default=None, help="photo to upload (default: skimage's astronaut.png)")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "app_screenshot.png")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=900)
    args = p.parse_args(argv)

    sys.path.insert(0, str(REPO))
    sys.path.append(str(REPO / "tests"))  # the headless-Chromium driver is test code: tests/support/browser.py
    from facehalluc.utils.quiet import quiet_tensorflow

    quiet_tensorflow()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from facehalluc.apps.web import HallucinationService, serve_in_thread
    from facehalluc.infer import load_hallucinator
    from support.browser import headless_chromium

    photo = (args.photo or default_photo()).resolve()
    server = serve_in_thread(HallucinationService(load_hallucinator(args.model)))
    driver = headless_chromium(args.width, args.height)
    try:
        inner = driver.execute_script("return [window.outerWidth - window.innerWidth, "
                                      "window.outerHeight - window.innerHeight];")
        driver.set_window_size(args.width + inner[0], args.height + inner[1])  # the viewport, not the window
        driver.get(server.url)
        driver.find_element(By.ID, "photo").send_keys(str(photo))
        WebDriverWait(driver, 60).until(lambda d: d.execute_script(
            "const ids = ['result', 'pasted', 'aligned'];"
            "return !document.getElementById('results').hidden && ids.every(i => {"
            "  const im = document.getElementById(i); return im.complete && im.naturalWidth > 0; })"
            " && [...document.querySelectorAll('#stages img')].every(im => im.complete && im.naturalWidth > 0);"))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if not driver.save_screenshot(str(args.out)):
            print(f"could not write {args.out}", file=sys.stderr)
            return 1
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

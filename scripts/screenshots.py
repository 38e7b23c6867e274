"""The README's pictures of the browser pages, at 1280x800 in headless
Chromium (scripts/cdp.py): docs/report.png, the HTML report of `compare
az-outage`; docs/dashboard.png, the dashboard of `stratus serve
live-az-outage` after its us-east-1b was killed from the page;
docs/compare-web.png, `compare az-outage --web` at its end.
Run by scripts/screenshots.sh."""

import base64
import os
import pathlib
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from cdp import Browser  # noqa: E402
import web_e2e  # noqa: E402

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"


def shot(b, name):
    png = base64.b64decode(b.page("Page.captureScreenshot", {"format": "png"})["data"])
    (DOCS / name).write_bytes(png)
    print(f"wrote docs/{name} ({len(png)} bytes)")


def main():
    d = pathlib.Path(tempfile.mkdtemp(prefix="stratus-shots-"))
    page = d / "az-outage.html"
    web_e2e.stratus("compare", "az-outage", "--out", str(page))
    b = Browser(web_e2e.CHROME)
    try:
        b.goto(page.as_uri())
        shot(b, "report.png")
        s = web_e2e.Serve("sticky")
        try:
            jar = str(d / "jar")
            for _ in range(6):
                web_e2e.curl(jar + str(_), "-d", "product=3&size=L&colour=navy", s.shop + "/cart/add")
            b.goto(s.web)
            b.until("!!document.querySelector('[data-act=\"kill_az:us-east-1b\"]')")
            b.eval("document.querySelector('[data-act=\"kill_az:us-east-1b\"]').click()")
            b.until("[...document.querySelectorAll('article[data-az=\"us-east-1b\"] .node')]"
                    ".every(n => n.dataset.state === 'dead')")
            shot(b, "dashboard.png")
        finally:
            s.stop()
        w = web_e2e.SimWeb("compare", "az-outage", "--speed", "10000")
        try:
            b.goto(w.web)
            b.until(f"(() => {{ const f = {web_e2e.FINAL}; return f.length === 3 && f.every(x => x[1]); }})()",
                    timeout=180)
            b.eval("document.activeElement && document.activeElement.blur()")
            shot(b, "compare-web.png")
        finally:
            w.stop()
    finally:
        b.close()


if __name__ == "__main__":
    main()

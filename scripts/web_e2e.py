"""The browser pages in headless Chromium, driven over the DevTools protocol
(scripts/cdp.py): the HTML report of `compare az-outage` against its JSON
report, with no network request; the dashboard of `stratus serve`; and the
same page over a simulation, `run --web` and `compare --web`, whose final
carts lost must be the batch reports'.
Run by scripts/web-e2e.sh: `python3 scripts/web_e2e.py STRATUS CHROMIUM [TEST...]`."""

import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from cdp import Browser  # noqa: E402

STRATUS, CHROME = sys.argv[1], sys.argv[2]
ONLY = sys.argv[3:]


def check(ok, what):
    if not ok:
        raise AssertionError(what)
    print(f"  ok: {what}")


def stratus(*args):
    return subprocess.run([STRATUS, *args], check=True, capture_output=True, text=True).stdout


def report_matches_json():
    """The HTML report's carts-lost cells equal the JSON report's figures,
    and opening the page fetched nothing."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="stratus-web-"))
    page = d / "az-outage.html"
    stratus("compare", "az-outage", "--out", str(page))
    runs = json.loads(stratus("compare", "az-outage", "--format", "json"))["runs"]
    want = {r["strategy"]: r["shoppers"]["carts_lost"] for r in runs}
    check(max(want.values()) > 0, f"the JSON report loses carts somewhere: {want}")
    b = Browser(CHROME)
    try:
        b.goto(page.as_uri())
        cells = b.eval(
            "[...document.querySelectorAll('tr[data-figure=\"carts_lost\"] td')]"
            ".map(td => [td.dataset.run, td.textContent])"
        )
        got = {run: int(text.replace(",", "")) for run, text in cells}
        check(got == want, f"carts lost on the page {got} == in the JSON {want}")
        lesson = b.eval("document.getElementById('lesson').textContent")
        check("sticky lost" in lesson, f"the lesson reads: {lesson!r}")
        kinds = b.eval("[...document.querySelectorAll('#kind-filter option')].map(o => o.value)")
        kind = next(k for k in kinds if k)
        shown = b.eval(
            f"(() => {{ const s = document.getElementById('kind-filter'); s.value = {json.dumps(kind)};"
            " s.dispatchEvent(new Event('change'));"
            " return [...document.querySelectorAll('#event-log tbody tr')].filter(r => !r.hidden)"
            ".map(r => r.dataset.kind); })()"
        )
        check(shown and set(shown) == {kind}, f"the filter on {kind!r} shows only {kind!r} rows ({len(shown)})")
        # Hover: a pointer over the plot's middle names a second and the runs.
        b.page("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": 0, "y": 0})
        box = b.eval(
            "(() => { const s = document.querySelector('#plot svg'); s.scrollIntoView();"
            " const r = s.getBoundingClientRect(); return [r.left + r.width * 0.4, r.top + r.height * 0.3]; })()"
        )
        b.page("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": box[0], "y": box[1]})
        hover = b.eval("document.getElementById('hover').textContent")
        check(hover.startswith("t = ") and "sticky:" in hover, f"hover shows {hover[:60]!r}…")
        others = [u for u in b.requests if not u.startswith("file://")]
        check(b.requests and not others, f"requests made: {b.requests} (none but the file itself)")
    finally:
        b.close()


class Serve:
    """A `stratus serve` child on ephemeral ports; its addresses from stderr."""

    def __init__(self, strategy):
        self.proc = subprocess.Popen(
            [STRATUS, "serve", "live-az-outage", "--strategy", strategy,
             "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.shop = self.web = self.admin = self.token = None
        for line in self.proc.stderr:
            f = line.split()
            if f[:1] == ["shop"]:
                self.shop = f[1].rstrip("/")
            elif f[:1] == ["web"]:
                self.web = f[1]
                self.admin, self.token = f[1].split("/#token=")
            elif line.strip() == "Ctrl-C stops.":
                break
        if not (self.shop and self.web):
            raise AssertionError("stratus serve did not print its shop and web addresses")
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def state(self):
        req = urllib.request.Request(self.admin + "/admin/state",
                                     headers={"Authorization": "Bearer " + self.token})
        return json.load(urllib.request.urlopen(req))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)


def curl(jar, *args):
    out = subprocess.run(["curl", "-s", "-c", jar, "-b", jar, "-H", "Accept: application/json", *args],
                         check=True, capture_output=True, text=True).stdout
    return out


def dashboard_kill(strategy):
    """curl fills a cart; the dashboard's kill button powers off that AZ; the
    page and /admin/state show its nodes dead; curl reads the cart back.
    The number of lines the cart still holds, and the page's counters."""
    s = Serve(strategy)
    b = Browser(CHROME)
    jar = os.path.join(tempfile.mkdtemp(prefix="stratus-web-"), "jar")
    try:
        added = json.loads(curl(jar, "-d", "product=3&size=L&colour=navy", s.shop + "/cart/add"))
        check(len(added["cart"]) == 1, f"{strategy}: curl put one line in the cart, served from {added['az']}")
        az = added["az"]
        time.sleep(0.2)  # past the store's replication lag (store-failover's lesson, not this one)
        b.goto(s.web)
        check(b.eval("location.hash") == "", "the page took the token out of the address bar")
        b.until(f"!!document.querySelector('[data-act=\"kill_az:{az}\"]')", what="the AZ cards")
        sessions = lambda: b.eval("document.querySelector('[data-f=\"sessions\"]').textContent")
        if strategy == "sticky":
            b.until("document.querySelector('[data-f=\"sessions\"]').textContent === '1'", what="one session in node memory")
        before = sessions()
        b.eval(f"document.querySelector('[data-act=\"kill_az:{az}\"]').click()")
        dead = b.until(
            f"(() => {{ const n = [...document.querySelectorAll('article[data-az=\"{az}\"] .node')];"
            " return n.length && n.every(x => x.dataset.state === 'dead' && x.textContent === 'X') && n.length; })()",
            what=f"{az}'s nodes dead on the page")
        check(dead > 0, f"{strategy}: the page shows {az}'s {dead} nodes dead, lettered X")
        st = s.state()
        z = next(z for z in st["azs"] if z["name"] == az)
        check(not z["alive"] and z["nodes"]["dead"] == dead and z["nodes"]["healthy"] == 0,
              f"{strategy}: /admin/state agrees: {z}")
        after = sessions()
        for _ in range(400):
            out = subprocess.run(["curl", "-s", "-c", jar, "-b", jar, "-H", "Accept: application/json",
                                  "-w", "\n%{http_code}", s.shop + "/cart"],
                                 check=True, capture_output=True, text=True).stdout
            body, code = out.rsplit("\n", 1)
            if code == "200":
                v = json.loads(body)
                check(v["az"] != az, f"{strategy}: the cart is now served from {v['az']}")
                return len(v["cart"]), before, after, b.eval("document.querySelector('[data-f=\"lost\"]').textContent")
            time.sleep(0.05)
        raise AssertionError("the shop never answered after the kill")
    finally:
        b.close()
        s.stop()


def dashboard():
    lines, before, after, _ = dashboard_kill("sticky")
    check(lines == 0, "sticky: the cart died with its node")
    check((before, after) == ("1", "0"), f"sticky: the page's sessions in node memory went {before} -> {after}")
    lines, before, after, _ = dashboard_kill("store")
    check(lines == 1, "store: the cart survived")
    check((before, after) == ("0", "0"), f"store: no session in node memory ({before} -> {after}); the store holds it")


class SimWeb:
    """A `stratus run|compare … --web --web-exit --format json` child: the
    page's URL from stderr; it prints its report and leaves once a page
    has been sent the final figures."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [STRATUS, *args, "--web", "--web-exit", "--format", "json"],
            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.web = None
        for line in self.proc.stderr:
            f = line.split()
            if f[:1] == ["web"]:
                self.web = f[1]
                break
        if not self.web:
            raise AssertionError(f"stratus {' '.join(args)} --web printed no web address")
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        self.out = []
        threading.Thread(target=lambda: self.out.append(self.proc.stdout.read()), daemon=True).start()

    def report(self):
        """The report it printed, once it has left by itself."""
        code = self.proc.wait(timeout=120)
        check(code == 0, f"stratus --web --web-exit left with {code} after the page had the final figures")
        for _ in range(100):
            if self.out:
                return json.loads(self.out[0])
            time.sleep(0.05)
        raise AssertionError("no report on stdout")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


FINAL = "[...document.querySelectorAll('section.run')].map(c => [c.dataset.run, " \
        "(c.querySelector('[data-final=\"carts_lost\"]') || {}).textContent])"


def run_web():
    """`run az-outage --web` at x10000: when it ends, the page shows the
    batch report's carts lost, and the report it printed has it too."""
    want = json.loads(stratus("run", "az-outage", "--format", "json"))["shoppers"]["carts_lost"]
    check(want > 0, f"the batch run of az-outage loses {want} carts (sticky)")
    s = SimWeb("run", "az-outage", "--speed", "10000")
    b = Browser(CHROME)
    try:
        b.goto(s.web)
        check(b.eval("location.hash") == "", "the page took the token out of the address bar")
        got = b.until("(() => { const f = document.querySelector('[data-final=\"carts_lost\"]');"
                      " return f && f.textContent; })()", timeout=120, what="the final figures")
        check(int(got.replace(",", "")) == want, f"the page's final carts lost {got} == the batch report's {want}")
        live = b.eval("document.querySelector('[data-f=\"lost\"]').textContent")
        check(live == got, f"the running count beside it says {live}")
        lesson = b.eval("document.getElementById('lesson').textContent")
        check("sticky lost" in lesson, f"the lesson reads: {lesson!r}")
        check("FINISHED" in b.eval("document.getElementById('clock').textContent"), "the header says FINISHED")
        printed = s.report()["shoppers"]["carts_lost"]
        check(printed == want, f"the report stratus printed says {printed}")
    finally:
        b.close()
        s.stop()


def compare_web():
    """`compare az-outage --web` from x1: paused with the space key, sped to
    x10000 with the faster button, resumed; a column per strategy, each
    ending with `compare --format json`'s carts lost."""
    runs = json.loads(stratus("compare", "az-outage", "--format", "json"))["runs"]
    want = [[r["strategy"], r["shoppers"]["carts_lost"]] for r in runs]
    s = SimWeb("compare", "az-outage", "--speed", "1")
    b = Browser(CHROME)
    try:
        b.goto(s.web)
        cols = b.until("(() => { const c = [...document.querySelectorAll('section.run')].map(c => c.dataset.run);"
                       " return c.length === 3 && c; })()", what="three columns")
        check(cols == [w[0] for w in want], f"a column per strategy: {cols}")
        check(not b.eval("document.getElementById('pace').hidden"), "a simulation's page has the speed control")
        b.eval("document.dispatchEvent(new KeyboardEvent('keydown', {key: ' '}))")
        b.until("document.getElementById('clock').textContent.includes('PAUSED')", what="PAUSED after space")
        check(True, "space paused the runs")
        for _ in range(14):
            b.eval("document.querySelector('#pace [data-key=\"+\"]').click()")
            time.sleep(0.05)
        b.until("document.getElementById('speed').textContent === '\u00d710000'", what="x10000")
        check(True, "the faster button doubled the speed up to x10000")
        b.eval("document.getElementById('pause').click()")
        got = b.until(f"(() => {{ const f = {FINAL}; return f.every(x => x[1]) && f; }})()",
                      timeout=180, what="every column's final figures")
        got = [[run, int(n.replace(",", ""))] for run, n in got]
        check(got == want, f"the columns' final carts lost {got} == compare --format json's {want}")
        printed = [[r["strategy"], r["shoppers"]["carts_lost"]] for r in s.report()["runs"]]
        check(printed == want, f"the comparison stratus printed says {printed}")
    finally:
        b.close()
        s.stop()


TESTS = {"report": report_matches_json, "dashboard": dashboard, "run-web": run_web, "compare-web": compare_web}

if __name__ == "__main__":
    failed = 0
    for name, test in TESTS.items():
        if ONLY and name not in ONLY:
            continue
        print(f"== {name}")
        try:
            test()
        except Exception as e:  # report every test, then fail
            failed += 1
            print(f"  FAILED: {e}")
    sys.exit(1 if failed else 0)

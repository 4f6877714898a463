"""Every page of the built book, opened offline in headless Chromium.

A reader may download `_build/html` and open it with no network, so the pages are
opened from `file://` in a browser context that is offline, and a page fails on:
- a console error or an uncaught exception, or a file it asks for that is missing;
- any request to another host (a CDN, a font service, ...);
- raw LaTeX left in the text (`\\(`, `\\[`, `$$`), or a formula MathJax could not typeset;
- an image that did not load;
- a widget area that renders empty, or a widget control outside a `frame_demo` (without
  a kernel it would move nothing);
- a demo whose picture does not change at each step of each control through all its
  values (moved from the keyboard alone: arrow keys on a slider, Enter on a button, arrow
  keys in a menu), or that ends on the wrong picture after key repeats faster than a
  keyboard's, or a control a reader cannot reach with Tab;
- an accessibility violation of impact "serious" or "critical" found by axe-core (the
  audit's other findings are counted page by page at the end of the run), an image with no
  text alternative among them.
Each page is saved as a screenshot under `_build/screenshots/` for review, showing the
page as it loads, before any demo is moved.

`test_the_browser_check_fails_when_it_should` breaks a copy of a page in each of these
ways and requires the check to say so.

The browser is Debian's `chromium` (`apt-get install chromium`), driven by Playwright's
Python package; Playwright's own browser download is never used.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.book.pages import (
    HTML,
    IMPACTS,
    STATE_SCRIPT,
    book_pages,
    is_frame_demo,
    page_record,
    read,
    redirect_target,
    widget_states,
)
from tools.book_paths import ROOT

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# What a page may load: the book's own files, and what its scripts make in memory.
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
# axe-core, installed by `make assets` beside the book's other assets (tests only).
AXE = ROOT / "book_assets" / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")
WAIT_MS = 15_000  # for the widgets and MathJax of one page (under 2 s on an idle machine)


# ---------------------------------------------------------------------------------------
# The browser


@pytest.fixture(scope="session")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail(
            "the book's browser test needs Chromium: `apt-get install chromium` "
            "(Debian's package; Playwright's browser download is not used)"
        )
    missing_axe = axe_missing(AXE)
    if missing_axe:
        pytest.fail(missing_axe)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def axe_missing(axe: Path) -> str | None:
    """What to do when the audit's script is not there (a clone without `make assets`)."""
    if axe.is_file():
        return None
    return (
        f"the book's accessibility audit needs axe-core at {axe}: "
        "`make assets` installs it from npm with the book's other assets"
    )


class Visit:
    """One page opened offline, with what it asked for and what it complained about."""

    def __init__(self, browser, path: Path):
        # Offline: a request to another host fails, and is recorded as a problem too.
        self.context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(5_000)  # a missing element fails fast
        self.context.set_default_navigation_timeout(60_000)  # a long page on a busy machine
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on(
            "pageerror", lambda error: self.problems.append(f"uncaught exception: {error}")
        )
        self.page.on("request", self._request)
        self.page.on(
            "requestfailed",
            lambda request: self.problems.append(
                f"request failed ({request.failure}): {_short(request.url)}"
            ),
        )
        self.page.on("websocket", lambda socket: self.problems.append(f"websocket: {socket.url}"))
        self.page.goto(path.as_uri(), wait_until="load")

    def _console(self, message):
        if message.type == "error":
            where = _short(message.location.get("url", ""))
            self.problems.append(f"console error: {message.text[:400]} ({where})")

    def _request(self, request):
        if not request.url.startswith(LOCAL_SCHEMES):
            self.problems.append(f"request to another host: {request.url}")

    def close(self):
        self.context.close()


def _short(url: str) -> str:
    return url.split("/_build/", 1)[-1]


# ---------------------------------------------------------------------------------------
# What runs in the page

# Resolves once every widget view is rendered (or the wait is over) and MathJax is done.
# The widget manager marks the window when it loads; without it, nothing will render.
SETTLE = """async (waitMs) => {
  const deadline = Date.now() + waitMs;
  const views = document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]');
  while (window._jupyter_widget_embedder
         && document.querySelectorAll('.widget-subarea').length < views.length
         && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await Promise.all([...document.querySelectorAll('.widget-subarea img')].map(
    (img) => img.decode().catch(() => null)));
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    await window.MathJax.startup.promise;
  }
}"""

# Raw LaTeX a reader would see (code excepted), formulas MathJax drew as errors, and
# images that did not load.
PAGE_TEXT_AND_IMAGES = r"""() => {
  const skip = new Set(['PRE', 'CODE', 'SCRIPT', 'STYLE', 'TEXTAREA', 'NOSCRIPT', 'TEMPLATE',
                        'MJX-CONTAINER']);
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    let inCode = false;
    for (let el = node.parentElement; el && !inCode; el = el.parentElement) {
      inCode = skip.has(el.tagName);
    }
    if (inCode) continue;
    for (const mark of ['\\(', '\\[', '$$']) {
      const at = node.textContent.indexOf(mark);
      if (at >= 0) {
        const context = node.textContent.slice(Math.max(0, at - 30), at + 50);
        found.push('raw LaTeX: ' + context.replace(/\s+/g, ' '));
      }
    }
  }
  for (const img of document.querySelectorAll('img')) {
    if (img.loading !== 'lazy' && (!img.complete || img.naturalWidth === 0)) {
      found.push('an image that did not load: ' + img.getAttribute('src').slice(0, 80));
    }
  }
  for (const error of document.querySelectorAll('mjx-merror')) {
    const why = error.getAttribute('data-mjx-error') || error.textContent;
    found.push('a formula MathJax could not typeset: ' + why);
  }
  return found;
}"""

# Code cells wider than their box: a reader at 1280 px would have to scroll sideways.
SCROLLING_CODE = """() => [...document.querySelectorAll('div.cell_input pre')]
  .filter((pre) => pre.scrollWidth > pre.clientWidth + 1)
  .map((pre) => {
    const lines = pre.textContent.split('\\n');
    const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), '');
    return longest.trim().slice(0, 60) + ' (' + longest.length + ' columns)';
  })"""

# The page as printed: what of the site's navigation is still drawn, and code still cut off.
PRINTED = """() => ({
  chrome: ['.bd-header', '.bd-sidebar-primary', '.bd-sidebar-secondary', '.prev-next-area']
    .filter((selector) => [...document.querySelectorAll(selector)]
      .some((el) => getComputedStyle(el).display !== 'none')),
  cutCode: [...document.querySelectorAll('div.cell_input pre, div.cell_output pre')]
    .filter((pre) => pre.scrollWidth > pre.clientWidth + 1).length,
})"""

# axe-core's audit of the page as it is: each rule broken, its impact and where.
AUDIT = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations'], preload: false});
  return result.violations.map((rule) => ({
    id: rule.id, impact: rule.impact, help: rule.help, count: rule.nodes.length,
    where: rule.nodes.slice(0, 3).map((node) => node.target.join(' ')),
  }));
}"""

# Each widget view and what it rendered.
WIDGET_AREAS = """() => [...document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]')]
  .map((script) => {
    const area = script.previousElementSibling;
    if (!area || !area.classList.contains('widget-subarea')) return {rendered: false};
    const box = area.getBoundingClientRect();
    const images = [...area.querySelectorAll('img')].filter((img) => img.offsetParent !== null);
    const controls = '.widget-slider, .widget-toggle-buttons, .widget-dropdown';
    return {
      rendered: true, width: box.width, height: box.height,
      elements: area.querySelectorAll('*').length,
      brokenImages: images.filter((img) => !img.complete || img.naturalWidth === 0).length,
      controlsOutsideDemos: [...area.querySelectorAll(controls)]
        .filter((c) => !c.closest('.frame-demo')).length,
    };
  })"""

# A hash of each image of a demo (every frame is in the page; one of them is shown).
FRAME_HASHES = """async (demo) => Promise.all([...demo.querySelectorAll('img')].map(async (img) => {
  const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
  let hash = 2166136261;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 16777619) >>> 0;
  return hash;
}))"""

# The frame a demo shows: which of its images are visible, and whether it has loaded.
SHOWN_FRAME = """(demo) => {
  const images = [...demo.querySelectorAll('img')];
  const visible = images.filter((img) => img.offsetParent !== null);
  return {index: visible.length === 1 ? images.indexOf(visible[0]) : -1, visible: visible.length,
          width: visible.length === 1 ? visible[0].naturalWidth : 0};
}"""

# Many key presses in one go, faster than any key repeat.
KEY_BURST = """(handle, [key, count]) => {
  for (let i = 0; i < count; i++) {
    handle.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true}));
  }
}"""


# ---------------------------------------------------------------------------------------
# Checking a page


def audit(visit: Visit) -> tuple[list[str], dict[str, int]]:
    """axe-core's serious and critical findings as problems, and every finding counted."""
    visit.page.add_script_tag(path=str(AXE))
    problems, counts = [], dict.fromkeys(IMPACTS, 0)
    for rule in visit.page.evaluate(AUDIT):
        counts[rule["impact"]] = counts.get(rule["impact"], 0) + rule["count"]
        if rule["impact"] in FAILING_IMPACTS:
            problems.append(
                f"accessibility ({rule['impact']}): {rule['id']}: {rule['help']} "
                f"({rule['count']}x, e.g. {'; '.join(rule['where'])})"
            )
    return problems, counts


def check_page(visit: Visit, html: str, screenshot: Path | None) -> list[str]:
    page = visit.page
    page.evaluate(SETTLE, WAIT_MS)
    problems = page.evaluate(PAGE_TEXT_AND_IMAGES)
    found, visit.audit_counts = audit(visit)
    problems += found
    problems += [
        f"a code cell scrolls sideways at 1280 px: {line}" for line in page.evaluate(SCROLLING_CODE)
    ]
    page.emulate_media(media="print")
    printed = page.evaluate(PRINTED)
    page.emulate_media(media="screen")
    if printed["chrome"]:
        problems.append(f"printed, the page still shows {', '.join(printed['chrome'])}")
    if printed["cutCode"]:
        problems.append(f"printed, {printed['cutCode']} code block(s) are cut off at the edge")
    for number, area in enumerate(page.evaluate(WIDGET_AREAS), start=1):
        widget = f"widget {number}"
        if not area["rendered"]:
            problems.append(f"{widget} did not render (is the widget manager loaded?)")
        elif area["height"] < 10 or area["elements"] < 3:
            problems.append(
                f"{widget} rendered empty ({area['width']:.0f}×{area['height']:.0f} px)"
            )
        elif area["brokenImages"]:
            problems.append(f"{widget} shows {area['brokenImages']} image(s) that did not load")
        elif area["controlsOutsideDemos"]:
            problems.append(
                f"{widget} has controls outside a frame_demo: without a kernel "
                "they move nothing (use attention_course.demos.frame_demo)"
            )
    if screenshot is not None:
        page.screenshot(
            path=str(screenshot), full_page=True, type="jpeg", quality=85, timeout=60_000
        )
    # After the screenshot, which shows the demos as a reader first sees them.
    models, views = widget_states(html)
    embedded = sum(is_frame_demo(models.get(view, {})) for view in views)
    demos = page.locator(".frame-demo")
    if demos.count() < embedded:
        problems.append(f"{embedded} demos embedded, {demos.count()} shown")
    for i in range(demos.count()):
        problems += Demo(visit, demos.nth(i), f"demo {i + 1}").move_every_control()
    # Errors, exceptions and requests, from loading the page and from moving the demos.
    return visit.problems + problems


class Demo:
    """A frame_demo in the page: every value of its control, or every pair of values of
    its two controls, must show its own picture."""

    def __init__(self, visit: Visit, element, label: str):
        self.visit, self.element, self.label = visit, element, label
        self.problems: list[str] = []

    def move_every_control(self) -> list[str]:
        controls = [
            Control(self.element, i)
            for i in range(
                self.element.locator(
                    ":scope > .widget-slider, :scope > .widget-toggle-buttons, "
                    ":scope > .widget-dropdown"
                ).count()
            )
        ]
        if not 1 <= len(controls) <= 2:
            return [f"{self.label}: {len(controls)} controls"]
        for control in controls:
            if not control.reachable_by_tab():
                self.problems.append(
                    f"{self.label}: '{control.name}' cannot be reached with the Tab key"
                )
        *outer, inner = controls
        self.hashes = self.element.evaluate(FRAME_HASHES)
        for control in controls:
            control.choose(0)
        picture = self.shown()
        if picture["visible"] != 1:
            return [f"{self.label}: {picture['visible']} pictures visible at the start"]
        for position in range(outer[0].count if outer else 1):
            context = f" with {outer[0].describe(position)}" if outer else ""
            if position:
                outer[0].choose(position)
                picture = self.moved(picture, f"moving {outer[0].describe(position)}")
            for value in range(1, inner.count):
                if picture is None:
                    return self.problems  # the first failure says enough about a demo
                inner.choose(value)
                picture = self.moved(picture, f"moving {inner.describe(value)}{context}")
            if picture is None:
                return self.problems
            inner.choose(0)
            picture = self.shown()
        for control in controls:
            if control.kind == "slider" and control.count > 1:
                self.return_fast(control)
        return self.problems

    def shown(self) -> dict:
        return self.element.evaluate(SHOWN_FRAME)

    def moved(self, before: dict, what: str) -> dict | None:
        """The picture after a move, or None and a problem unless it is another, loaded."""
        deadline = time.monotonic() + 2
        now = self.shown()
        while now["index"] == before["index"] and time.monotonic() < deadline:
            self.visit.page.wait_for_timeout(20)
            now = self.shown()
        if now["visible"] != 1:
            problem = f"{now['visible']} pictures visible after {what}"
        elif now["index"] == before["index"]:
            problem = f"the picture did not change after {what}"
        elif self.hashes[now["index"]] == self.hashes[before["index"]]:
            problem = f"{what} shows the same picture as before"
        elif not now["width"]:
            problem = f"the picture after {what} did not load"
        else:
            return now
        self.problems.append(f"{self.label}: {problem}")
        return None

    def return_fast(self, slider: Control) -> None:
        """From the last value back to the first with key repeats faster than a keyboard's."""
        slider.choose(0)
        first = self.shown()
        slider.choose(slider.count - 1)
        slider.handle.evaluate(KEY_BURST, ["ArrowLeft", 3 * slider.count])
        self.visit.page.wait_for_timeout(100)
        if self.shown()["index"] != first["index"]:
            self.problems.append(
                f"{self.label}: after fast key repeats back to the start, "
                f"'{slider.name}' does not show its first picture"
            )


class Control:
    """A slider, toggle buttons or a dropdown of a demo, moved as a reader would."""

    def __init__(self, demo, index: int):
        self.element = demo.locator(
            ":scope > .widget-slider, :scope > .widget-toggle-buttons, :scope > .widget-dropdown"
        ).nth(index)
        classes = self.element.get_attribute("class")
        self.kind = (
            "slider"
            if "widget-slider" in classes
            else "buttons"
            if "widget-toggle-buttons" in classes
            else "dropdown"
        )
        self.name = self.element.evaluate(
            "(el) => (el.querySelector('.widget-label') || {}).textContent || '?'"
        )
        if self.kind == "slider":
            self.handle = self.element.locator(".noUi-handle")
            self.count = round(float(self.handle.get_attribute("aria-valuemax"))) + 1
        elif self.kind == "buttons":
            self.count = self.element.locator("button").count()
        else:
            self.count = self.element.locator("select option").count()

    def reachable_by_tab(self) -> bool:
        """Every part a reader must use is focusable and in the tab order."""
        parts = {"slider": ".noUi-handle", "buttons": "button", "dropdown": "select"}[self.kind]
        return self.element.evaluate(
            "(el, parts) => [...el.querySelectorAll(parts)].every("
            "(part) => part.tabIndex >= 0 && !part.disabled)",
            parts,
        )

    def choose(self, index: int) -> None:
        """Move to the value at ``index`` with the keyboard alone, as a reader without a mouse."""
        if self.kind == "slider":
            now = round(float(self.handle.get_attribute("aria-valuenow")))
            self.handle.focus()
            for _ in range(abs(index - now)):
                self.handle.press("ArrowRight" if index > now else "ArrowLeft")
        elif self.kind == "buttons":
            button = self.element.locator("button").nth(index)
            button.focus()
            button.press("Enter")
        else:
            menu = self.element.locator("select")
            menu.focus()
            now = menu.evaluate("(el) => el.selectedIndex")
            for _ in range(abs(index - now)):
                menu.press("ArrowDown" if index > now else "ArrowUp")

    def describe(self, index: int) -> str:
        return f"'{self.name}' to its value {index + 1} of {self.count}"


# ---------------------------------------------------------------------------------------
# The tests


# Collected from the build, so a new chapter is covered; one test per page, so that the
# pages are checked on every core. Without a build, the one placeholder fails on
# `built_book` with a message that says so.
@pytest.mark.parametrize("page_path", book_pages() or ["(no built book)"])
def test_page_works_offline_in_a_browser(built_book, browser, page_path):
    record = page_record(page_path)
    record.unlink(missing_ok=True)
    started = time.monotonic()
    html = read(page_path)
    target = redirect_target(html)
    if target is not None:  # index.html only sends the reader on
        assert (HTML / page_path).parent.joinpath(target).is_file(), (
            f"{page_path} redirects to a missing page: {target}"
        )
        return
    visit = Visit(browser, HTML / page_path)
    try:
        found = check_page(visit, html, record.with_suffix(".jpg"))
        audit_counts = getattr(visit, "audit_counts", {})
    finally:
        visit.close()
    # For the summary at the end of the run (tests/book/conftest.py).
    record.write_text(
        json.dumps(
            {"page": page_path, "seconds": time.monotonic() - started, "audit": audit_counts}
        )
    )
    assert not found, f"{page_path}:\n  " + "\n  ".join(found)


def _edit_state(html: str, edit) -> str:
    """The page with its embedded widget models changed by `edit(models)`."""
    match = STATE_SCRIPT.search(html)
    document = json.loads(match.group(2))
    edit(document["state"])
    text = json.dumps(document).replace("</", "<\\/")
    return html[: match.start(2)] + text + html[match.end(2) :]


def _without_links(models: dict) -> None:
    for model_id in [key for key, model in models.items() if model["model_name"] == "LinkModel"]:
        del models[model_id]


def _same_picture_everywhere(models: dict) -> None:
    images = [model for model in models.values() if model["model_name"] == "ImageModel"]
    for image in images:
        image["buffers"] = images[0]["buffers"]


def _demos_emptied(models: dict) -> None:
    for model in models.values():
        if is_frame_demo(model):
            model["state"]["children"] = []


def _inserted(html: str, markup: str) -> str:
    """The page with `markup` at the start of its article."""
    article = re.search(r"<article[^>]*>", html)
    return html[: article.end()] + markup + html[article.end() :]


def _replaced(html: str, old: str, new: str, count: int = -1) -> str:
    assert old in html, f"the page no longer contains {old!r}: update this test"
    return html.replace(old, new, count)


FORMULA = '<span class="math notranslate nohighlight">\\('
FIGURE = 'src="../_images/'
# Each way of breaking a page, and what the check must then say. The breakages that do
# not interfere with each other share a page, to keep the test short.
BREAKAGES = {
    "widget manager deleted": (
        lambda html: _replaced(
            html, "vendor/html-manager/embed.js", "vendor/html-manager/deleted.js"
        ),
        ["ERR_FILE_NOT_FOUND", "did not render (is the widget manager loaded?)"],
    ),
    "widget labels left to the MathJax 2 call": (
        lambda html: _replaced(html, '<script src="../_static/widgets_mathjax3.js"></script>', ""),
        ["uncaught exception: Cannot read properties of undefined (reading 'Queue')"],
    ),
    "MathJax deleted": (
        lambda html: _replaced(
            html, "vendor/mathjax/tex-mml-chtml.js", "vendor/mathjax/deleted.js"
        ),
        ["ERR_FILE_NOT_FOUND", "raw LaTeX: "],
    ),
    "errors, a CDN, a lost figure, an undefined macro, an unclosed formula": (
        lambda html: _inserted(
            _replaced(
                _replaced(html, FORMULA, FORMULA + "\\undefinedmacro "), FIGURE, FIGURE + "lost-"
            ),
            '<script>console.error("injected error")</script><script>notAFunction()</script>'
            '<img src="https://cdn.example.org/logo.png" alt=""><p>Say \\(x^2 and stop.</p>',
        ),
        [
            "console error: injected error",
            "uncaught exception: notAFunction is not defined",
            "request to another host: https://cdn.example.org/logo.png",
            "a formula MathJax could not typeset: Undefined control sequence \\undefinedmacro",
            "raw LaTeX: Say \\(x^2 and stop.",
            "an image that did not load: ../_images/lost-",
        ],
    ),
    "demo controls linked to nothing": (
        lambda html: _edit_state(html, _without_links),
        [": the picture did not change after moving"],
    ),
    "demo frames all the same picture": (
        lambda html: _edit_state(html, _same_picture_everywhere),
        ["shows the same picture as before"],
    ),
    "demo emptied": (lambda html: _edit_state(html, _demos_emptied), ["rendered empty"]),
    "a code line too long for the column": (
        lambda html: _replaced(
            html, "<span></span><span class=", "<span>" + "x" * 160 + "</span><span class=", count=1
        ),
        ["a code cell scrolls sideways at 1280 px: xxxx"],
    ),
    "a figure without alt text, a button without a name": (
        lambda html: _inserted(html, f'<img src="{FIGURE[5:]}x.png"><button></button>'),
        ["accessibility (critical): image-alt", "accessibility (critical): button-name"],
    ),
}


@pytest.fixture(scope="session")
def specimen(pages, tmp_path_factory) -> tuple[Path, str]:
    """A copy of the book, and its first page with a demo, a formula and a figure."""
    for page_path in pages:
        html = read(page_path)
        models, views = widget_states(html)
        if (
            FORMULA in html
            and FIGURE in html
            and any(is_frame_demo(models.get(view, {})) for view in views)
        ):
            break
    else:
        pytest.fail("no page has a demo, a formula and a figure to break")
    copy = tmp_path_factory.mktemp("book") / "html"
    shutil.copytree(HTML, copy)
    return copy, page_path


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_the_browser_check_fails_when_it_should(browser, specimen, breakage):
    copy, page_path = specimen
    breaking, expected = BREAKAGES[breakage]
    original = (copy / page_path).read_text(encoding="utf-8")
    broken = copy / page_path.replace(".html", "-broken.html")
    broken.write_text(breaking(original), encoding="utf-8")
    visit = Visit(browser, broken)
    try:
        problems = check_page(visit, broken.read_text(encoding="utf-8"), screenshot=None)
    finally:
        visit.close()
    missed = [words for words in expected if not any(words in problem for problem in problems)]
    assert not missed, f"the check did not report {missed}; it reported {problems}"


def test_a_clone_without_the_assets_is_told_how_to_get_the_audit(tmp_path):
    assert axe_missing(AXE) is None  # `make test` installs the assets first
    message = axe_missing(tmp_path / "node_modules" / "axe-core" / "axe.min.js")
    assert message is not None and "`make assets`" in message and "axe.min.js" in message

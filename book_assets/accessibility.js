// Accessibility repairs for every page of the book (loaded by book_assets/offline_assets.py).
// - Demo frames: each image gets the text alternative frame_demo wrote for it.
// - Demo sliders: the widget manager draws each slider's handle with role="slider" but no
//   name; the handle gets its control's label as its name and the shown value (the
//   readout, e.g. "0.5") as aria-valuetext, so a screen reader says "temperature, 0.5"
//   rather than "slider, 3".
// - The theme's search and colour-mode buttons carry an aria-label that leaves out their
//   visible text (WCAG 2.5.3, "label in name"): the visible text becomes their name, and
//   the titles of the icons inside a labelled button (read as visible text) go.
(function () {
  "use strict";
  function nameSliders() {
    for (const slider of document.querySelectorAll(".widget-slider")) {
      const label = slider.querySelector(".widget-label");
      const readout = slider.querySelector(".widget-readout");
      for (const handle of slider.querySelectorAll(".noUi-handle")) {
        if (label && label.textContent.trim()) {
          handle.setAttribute("aria-label", label.textContent.trim());
        }
        if (readout && readout.textContent.trim()) {
          handle.setAttribute("aria-valuetext", readout.textContent.trim());
        }
      }
    }
  }
  function labelsIncludeVisibleText() {
    for (const element of document.querySelectorAll("button[aria-label], a[aria-label]")) {
      // An icon's title counts as visible text ("Light" inside the "Color mode" button):
      // the button's own label already names it.
      for (const icon of element.querySelectorAll("i[title]")) icon.removeAttribute("title");
      const visible = (element.innerText || "").replace(/\s+/g, " ").trim();
      const label = element.getAttribute("aria-label");
      if (visible && !label.toLowerCase().includes(visible.toLowerCase())) {
        element.setAttribute("aria-label", visible);
      }
    }
  }
  function framesNamedByTheirPages() {
    // A frame_demo's pages are a Tab whose (hidden) tab titles describe each frame
    // (attention_course/demos.py): each frame image gets its page's title as alt text.
    for (const tabs of document.querySelectorAll(".frame-demo-pages")) {
      const titles = [...tabs.querySelectorAll(
        ":scope > .lm-TabBar .lm-TabBar-tabLabel, :scope > .p-TabBar .p-TabBar-tabLabel")]
        .map((label) => label.textContent.trim());
      const pages = tabs.querySelectorAll(":scope > .widget-tab-contents > *");
      pages.forEach((page, index) => {
        if (page.tagName === "IMG" && !page.getAttribute("alt") && titles[index]) {
          page.setAttribute("alt", titles[index]);
        }
      });
    }
  }
  let pending = false;
  function repair() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      nameSliders();
      labelsIncludeVisibleText();
      framesNamedByTheirPages();
    });
  }
  // Widgets render after the page loads, and a slider's readout changes as it moves.
  new MutationObserver(repair).observe(document.documentElement, {
    subtree: true, childList: true, characterData: true,
  });
  // Deferred, this runs once the page is parsed: repair what is there at once.
  nameSliders();
  labelsIncludeVisibleText();
  framesNamedByTheirPages();
})();

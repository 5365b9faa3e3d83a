// A table wider than its frame scrolls sideways: the frame then takes the focus, so that
// the keyboard scrolls it too (WCAG 2.1.1), and is named after the table's caption.
// Frames that fit are left out of the Tab order. Runs again after a resize and after htmx
// swaps part of the page.
(function () {
  function markScrollingTables() {
    for (const frame of document.querySelectorAll(".table-wrap")) {
      const caption = frame.querySelector("caption");
      if (frame.scrollWidth > frame.clientWidth) {
        frame.tabIndex = 0;
        if (caption) {
          frame.setAttribute("role", "region");
          frame.setAttribute("aria-label", caption.textContent.trim());
        }
      } else if (frame.hasAttribute("tabindex")) {
        frame.removeAttribute("tabindex");
        frame.removeAttribute("role");
        frame.removeAttribute("aria-label");
      }
    }
  }
  document.addEventListener("DOMContentLoaded", markScrollingTables);
  document.addEventListener("htmx:afterSettle", markScrollingTables);
  window.addEventListener("resize", markScrollingTables);
})();

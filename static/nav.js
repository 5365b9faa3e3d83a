// The main menu: a button folds it on narrow screens, and an open group closes when
// another opens, on a click elsewhere, or on Escape. Without this file the menu stays open.
(function () {
  "use strict";
  var toggle = document.querySelector(".navtoggle");
  var header = toggle && toggle.closest(".topbar");
  if (!header) return;
  var groups = Array.prototype.slice.call(header.querySelectorAll("details.navgroup"));
  header.classList.add("nav-folds");
  toggle.hidden = false;
  toggle.addEventListener("click", function () {
    var open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    header.classList.toggle("nav-open", open);
  });
  groups.forEach(function (group) {
    group.addEventListener("toggle", function () {
      if (!group.open) return;
      groups.forEach(function (other) { if (other !== group) other.open = false; });
    });
  });
  document.addEventListener("click", function (event) {
    groups.forEach(function (group) { if (!group.contains(event.target)) group.open = false; });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var group = groups.filter(function (g) { return g.open; })[0];
    if (group) {
      var inside = group.contains(document.activeElement);
      group.open = false;
      if (inside) group.querySelector("summary").focus();
    } else if (header.classList.contains("nav-open") && header.contains(document.activeElement)) {
      toggle.setAttribute("aria-expanded", "false");
      header.classList.remove("nav-open");
      toggle.focus();
    }
  });
})();

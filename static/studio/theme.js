// Loaded in <head> before the page is drawn: apply the theme chosen with the toggle ("light"
// or "dark", remembered in localStorage); without a choice the stylesheet follows the system.
(function () {
  try {
    var theme = localStorage.getItem("coflux-theme");
    if (theme === "light" || theme === "dark") {
      document.documentElement.dataset.theme = theme;
    }
  } catch (e) {
    // Storage may be disabled: the system's theme applies.
  }
})();

// Print buttons: kept out of inline handlers so a strict Content-Security-Policy can forbid inline script.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});

/* The search form on a phone: after a search it folds to a one-line summary with "Edit search", the map
 * legend folds, and "Use my location" fills `near` with the browser's position rounded to 2 decimals
 * (about 1 km) here, before it enters the URL; the position is never stored. Without script the whole form
 * shows and the button stays hidden. */
(function () {
  "use strict";

  var phone = window.matchMedia ? window.matchMedia("(max-width: 759px)") : { matches: false };

  // Round in the browser: only 2 decimals ever reach the address bar, the server, its logs or history.
  function rounded(value) {
    return (Math.round(value * 100) / 100).toFixed(2);
  }

  function foldForm(form) {
    var edit = form.querySelector(".edit-search");
    if (!edit || !form.classList.contains("has-results")) return;
    function fold(folded) {
      form.classList.toggle("folded", folded);
      edit.setAttribute("aria-expanded", folded ? "false" : "true");
    }
    fold(phone.matches);
    edit.addEventListener("click", function () {
      fold(false);
      var first = form.querySelector("#q");
      if (first) first.focus();
    });
  }

  function foldLegend() {
    var folds = document.querySelectorAll("details.legend-fold");
    for (var i = 0; i < folds.length; i++) {
      if (phone.matches) folds[i].removeAttribute("open");
    }
  }

  function useLocation(form) {
    var button = form.querySelector("[data-use-location]");
    var near = form.querySelector("#near");
    var status = form.querySelector(".use-location-status");
    if (!button || !near || !navigator.geolocation) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      // Its words come from the page (data- attributes), in the page's language.
      if (status) status.textContent = button.dataset.finding || "";
      navigator.geolocation.getCurrentPosition(
        function (position) {
          near.value = rounded(position.coords.latitude) + "," + rounded(position.coords.longitude);
          if (status) status.textContent = "";
          form.submit();
        },
        function (error) {
          if (status) {
            status.textContent =
              (error && error.code === 1 ? button.dataset.denied : button.dataset.failed) || "";
          }
        },
        { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 }
      );
    });
  }

  var form = document.querySelector("form.search-form");
  if (form) {
    foldForm(form);
    useLocation(form);
  }
  foldLegend();
  window.DirectorySearch = { rounded: rounded };
})();

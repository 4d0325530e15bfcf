// +/- steppers for the provider's update form; without JavaScript the fields are plain number inputs.
document.querySelectorAll("[data-stepper]").forEach(function (box) {
  var input = box.querySelector("input[inputmode]");
  var unknown = box.querySelector("input[name=waitlist_unknown]");
  box.querySelectorAll("button[data-step]").forEach(function (button) {
    button.addEventListener("click", function () {
      var value = parseInt(input.value, 10);
      if (isNaN(value)) { value = 0; }
      value = Math.max(0, Math.min(100000, value + parseInt(button.dataset.step, 10)));
      input.value = String(value);
      if (unknown) { unknown.checked = false; }
    });
  });
  if (unknown) {
    input.addEventListener("input", function () { if (input.value !== "") { unknown.checked = false; } });
  }
});

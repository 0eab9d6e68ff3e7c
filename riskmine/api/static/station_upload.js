// The station upload form's drop zone: a file dropped on it goes into the form's file input, and a file over the
// size limit is refused before it is sent. Without this script the plain file input does the same work.
(function () {
  "use strict";
  var zone = document.querySelector(".upload-form .dropzone");
  if (!zone) {
    return;
  }
  var form = zone.closest("form");
  var input = zone.querySelector("input[type=file]");
  var name = zone.querySelector(".dropzone-name");
  var problem = form.querySelector(".upload-problem");

  function check() {
    var file = input.files && input.files[0];
    var limit = Number(zone.getAttribute("data-max-bytes")) || 0;
    problem.hidden = true;
    name.textContent = file ? file.name : "";
    if (file && limit && file.size > limit) {
      problem.textContent = file.name + "：" + zone.getAttribute("data-too-large");
      problem.hidden = false;
      return false;
    }
    return true;
  }

  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function () {
      zone.classList.remove("over");
    });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      check();
    }
  });
  input.addEventListener("change", check);
  form.addEventListener("submit", function (event) {
    if (!check()) {
      event.preventDefault();
    }
  });
})();

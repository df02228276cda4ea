// The portal's resumable uploader: each file is declared (name, size), then sent in pieces with PATCH and an
// Upload-Offset header. After a network error it asks the portal how much arrived and sends only the rest;
// choosing the same file again after a reload resumes it too. Served by the portal; no library, no CDN.
// Without JavaScript the page's form is posted as it is (multipart, one piece per file). The only text shown
// here comes from the page (data-msg-*), so it is translated with the page.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var csrf = form.dataset.csrf, delivery = form.dataset.delivery, piece = parseInt(form.dataset.chunk, 10);
  var list = document.getElementById("upload-status");
  var lost = form.dataset.msgLost, failing = form.dataset.msgFailing;  // translated by the page

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  async function detail(response) {
    try { return (await response.json()).detail || response.statusText; } catch (e) { return response.statusText; }
  }

  async function uploadOne(file) {
    var line = document.createElement("li");
    line.textContent = file.name + ": …";
    list.appendChild(line);
    var response = await fetch("/api/deliveries/" + delivery + "/uploads", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({name: file.name, size: file.size})});
    if (!response.ok) {
      line.textContent = file.name + ": " + await detail(response);
      line.className = "failed";
      return false;
    }
    var upload = await response.json(), offset = upload.offset, failures = 0;
    while (offset < file.size) {
      try {
        response = await fetch("/api/uploads/" + upload.id, {
          method: "PATCH", credentials: "same-origin",
          headers: {"Upload-Offset": String(offset), "X-CSRF-Token": csrf,
                    "Content-Type": "application/offset+octet-stream"},
          body: file.slice(offset, Math.min(file.size, offset + piece))});
        if (response.ok || response.status === 409) {
          offset = (await response.json()).offset;
          failures = 0;
        } else {
          line.textContent = file.name + ": " + await detail(response);
          line.className = "failed";
          return false;
        }
      } catch (err) {  // the connection broke: wait, ask how much arrived, go on from there
        failures += 1;
        if (failures > 12) {
          line.textContent = file.name + ": " + failing;
          line.className = "failed";
          return false;
        }
        line.textContent = file.name + ": " + lost;
        await sleep(Math.min(30000, 500 * Math.pow(2, failures)));
        try {
          var state = await fetch("/api/uploads/" + upload.id, {credentials: "same-origin"});
          if (state.ok) { offset = (await state.json()).offset; }
        } catch (ignored) { /* still offline: the next attempt asks again */ }
      }
      line.textContent = file.name + ": " + (file.size ? Math.floor(100 * offset / file.size) : 100) + " %";
    }
    line.textContent = file.name + ": 100 %";
    return true;
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    var files = form.querySelector("input[type=file]").files, ok = true;
    for (var i = 0; i < files.length; i += 1) { ok = (await uploadOne(files[i])) && ok; }
    if (ok) { window.location.reload(); }
  });
}());

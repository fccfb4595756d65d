// sw-nlp serve: the little the pages do in the browser. Every page works without it.
"use strict";

// Job page: poll the job's status (counts only, never case text) and move the bar;
// reload when the job has ended so the server shows the results, the column picker or
// the error. Without JavaScript a <noscript> meta refresh does the same.
function watchJob(box) {
  const bar = document.getElementById("progress");
  const text = document.getElementById("progress-text");
  const fill = (template, done, total) =>
    template.replace("{done}", done.toLocaleString()).replace("{total}", (total || 0).toLocaleString());
  const poll = () => {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", cache: "no-store" })
      .then((r) => r.json())
      .then((s) => {
        if (s.status === "running" || s.status === "queued" || s.status === "preparing") {
          if (s.total) { bar.max = s.total; bar.value = s.done; }
          if (s.status === "preparing") { text.textContent = box.dataset.msgPreparing; }
          else if (s.total) { text.textContent = fill(box.dataset.msgRunning, s.done, s.total); }
          else { text.textContent = fill(box.dataset.msgUnknown, s.done, 0); }
          window.setTimeout(poll, 500);
        } else {
          window.location.reload();
        }
      })
      .catch(() => window.setTimeout(poll, 2000));
  };
  poll();
}

// Correction form: offer only the methods of the chosen level (the server checks too).
function linkMethods(levelSelect, methodSelect) {
  const update = () => {
    let firstEnabled = null;
    for (const group of methodSelect.querySelectorAll("optgroup")) {
      const on = group.dataset.level === levelSelect.value;
      group.hidden = !on;
      group.disabled = !on;
      if (on && !firstEnabled) { firstEnabled = group.querySelector("option"); }
    }
    const chosen = methodSelect.selectedOptions[0];
    if (!chosen || chosen.parentElement.disabled) {
      if (firstEnabled) { firstEnabled.selected = true; }
    }
  };
  levelSelect.addEventListener("change", update);
  update();
}

document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("job-progress");
  if (box) { watchJob(box); }
  const level = document.getElementById("correct-level");
  const method = document.getElementById("correct-method");
  if (level && method) { linkMethods(level, method); }
});

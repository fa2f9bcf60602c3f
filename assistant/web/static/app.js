// A little progressive enhancement; every page works without it.
"use strict";

function describeSpan(seconds) {
  const s = Math.abs(seconds);
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  if (days) return days + " d " + hours + " h";
  if (hours) return hours + " h " + minutes + " min";
  return minutes + " min";
}

// SLA countdown: keep "due in …" / "overdue by …" current while the page stays open.
function tickSla() {
  const now = Date.now();
  document.querySelectorAll(".sla[data-due]").forEach(function (el) {
    const due = Date.parse(el.dataset.due);
    if (Number.isNaN(due)) return;
    const seconds = Math.round((due - now) / 1000);
    el.textContent = seconds >= 0 ? "due in " + describeSpan(seconds) : "overdue by " + describeSpan(seconds);
    el.classList.toggle("overdue", seconds < 0);
    const row = el.closest("tr");
    if (row) row.classList.toggle("overdue", seconds < 0);
  });
}

// Slow forms (answering loads the model the first time): show that the request is on its way.
function markBusy(event) {
  const button = event.target.querySelector("button[type=submit]");
  if (button) {
    button.disabled = true;
    button.dataset.label = button.textContent;
    button.textContent = "Working…";
  }
}

document.addEventListener("DOMContentLoaded", function () {
  tickSla();
  setInterval(tickSla, 30000);
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    form.addEventListener("submit", markBusy);
  });
});

// Coming back with the browser's back button must not leave a button disabled.
window.addEventListener("pageshow", function () {
  document.querySelectorAll("button[data-label]").forEach(function (button) {
    button.disabled = false;
    button.textContent = button.dataset.label;
  });
});

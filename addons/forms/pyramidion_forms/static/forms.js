// Deform's widgets register their set-up callbacks with deform.addCallback;
// deform.load() runs them. Pages usually do this in an inline script, which
// the Content-Security-Policy (default-src 'self') forbids, so it lives here.
document.addEventListener("DOMContentLoaded", function () {
  if (window.deform && window.jQuery) {
    window.deform.load();
  }
});

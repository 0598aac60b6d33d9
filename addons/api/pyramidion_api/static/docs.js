// Starts Swagger UI on the API's docs page. It lives in its own file so
// that the page needs no inline script under the site's Content-Security-Policy.
(function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  if (!node || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  var csrfUrl = node.getAttribute("data-csrf-url");
  var unsafe = { POST: true, PUT: true, PATCH: true, DELETE: true };

  // The document names one server, the site itself; Swagger UI would still
  // show a choice of it in a <select> without an accessible name (axe:
  // select-name). Requests go to the document's first server without it.
  function onlyServerPlugin() {
    return {
      wrapComponents: {
        ServersContainer: function () {
          return function () {
            return null;
          };
        }
      }
    };
  }

  // Swagger UI leaves the request body's <textarea> without a label and
  // its scrolling code samples out of the tab order (axe: label,
  // scrollable-region-focusable). Both are mended as they are rendered.
  function mend(root) {
    root.querySelectorAll("textarea.body-param__text:not([aria-label])").forEach(function (box) {
      box.setAttribute("aria-label", "Request body (JSON)");
    });
    root.querySelectorAll("pre.microlight:not([tabindex]), pre.curl:not([tabindex])").forEach(
      function (block) {
        block.setAttribute("tabindex", "0");
      }
    );
  }
  new window.MutationObserver(function () {
    mend(node);
  }).observe(node, { childList: true, subtree: true });

  window.ui = window.SwaggerUIBundle({
    url: node.getAttribute("data-spec-url"),
    domNode: node,
    // Deep links put an <a> inside each operation's toggle button, an
    // interactive element within another that screen readers and
    // keyboards cannot reach on its own (axe: nested-interactive).
    deepLinking: false,
    plugins: [onlyServerPlugin],
    // The highlighter's themes colour some tokens below 4.5:1 against
    // their dark background (axe: color-contrast); plain text reads well.
    syntaxHighlight: { activated: false },
    // Never ask validator.swagger.io about our document.
    validatorUrl: null,
    // A logged-in browser uses its session: unsafe methods carry the
    // session's CSRF token in X-CSRF-Token, asked of the site just before
    // (the token changes at login, so it is never kept in the page).
    requestInterceptor: function (request) {
      var sendsBearer = request.headers && request.headers.Authorization;
      if (!csrfUrl || sendsBearer || !unsafe[String(request.method).toUpperCase()]) {
        return request;
      }
      return window
        .fetch(csrfUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (answer) {
          return answer.ok ? answer.json() : {};
        })
        .then(function (body) {
          if (body.csrf_token) {
            request.headers["X-CSRF-Token"] = body.csrf_token;
          }
          return request;
        });
    }
  });
})();

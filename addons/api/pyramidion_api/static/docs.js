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

  window.ui = window.SwaggerUIBundle({
    url: node.getAttribute("data-spec-url"),
    domNode: node,
    deepLinking: true,
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

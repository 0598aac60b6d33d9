// Starts Swagger UI on the API's docs page. It lives in its own file so
// that the page needs no inline script under the site's Content-Security-Policy.
(function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  if (!node || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  var csrfCookie = node.getAttribute("data-csrf-cookie");
  var unsafe = { POST: true, PUT: true, PATCH: true, DELETE: true };

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i += 1) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) {
        return decodeURIComponent(parts[i].slice(eq + 1)).replace(/^"|"$/g, "");
      }
    }
    return null;
  }

  window.ui = window.SwaggerUIBundle({
    url: node.getAttribute("data-spec-url"),
    domNode: node,
    deepLinking: true,
    // Never ask validator.swagger.io about our document.
    validatorUrl: null,
    // A logged-in browser uses its session: unsafe methods carry the
    // CSRF cookie's value in X-CSRF-Token, as the site's own pages do.
    requestInterceptor: function (request) {
      var token = csrfCookie && cookie(csrfCookie);
      var sendsBearer = request.headers && request.headers.Authorization;
      if (token && !sendsBearer && unsafe[String(request.method).toUpperCase()]) {
        request.headers["X-CSRF-Token"] = token;
      }
      return request;
    }
  });
})();

// Starts Swagger UI on /api/docs. A file rather than an inline script, so the page keeps
// the dashboard's strict Content-Security-Policy (script-src 'self').
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    // Never send the schema to validator.swagger.io (the default): no request leaves.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    // "Try it out" runs with the session cookie; changes need its CSRF token, same origin only.
    requestInterceptor: function (request) {
      if (csrf && new URL(request.url, window.location.href).origin === window.location.origin) {
        request.headers["X-CSRF-Token"] = csrf;
      }
      return request;
    },
  });
})();

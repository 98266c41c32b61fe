// Swagger UI for /api/v1/docs: the document this server serves; "Try it out" sends the session cookie,
// or a token entered under "Authorize".
window.onload = function () {
  window.ui = SwaggerUIBundle({url: "/api/v1/openapi.yaml", dom_id: "#swagger-ui", deepLinking: true});
};

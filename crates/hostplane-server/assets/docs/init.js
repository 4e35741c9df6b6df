// hostplane's API reference: Swagger UI on the server's own OpenAPI document. No validator
// badge (it would call validator.swagger.io): this page makes requests to this server only.
window.ui = SwaggerUIBundle({
  url: "/zstack/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  tryItOutEnabled: false,
  persistAuthorization: false,
});

"""The HTTP API (Litestar): the app factory, controllers, the authentication hook, problem details, OpenAPI and
the console."""

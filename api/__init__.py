"""The HTTP API (Litestar): the app factory, controllers, guard, problem details, OpenAPI and the console."""

"""Adapters for the application's ports, grouped by what they adapt: postgres/, redis/ and processes/."""

"""Projections in SQL: the statements that apply the registry's definitions, inline and by followers."""

"""The read models' queries: SQL on indexed columns of the projections' tables, keyset pages."""

"""Read models, each defined once over upcast domain events; one registry serves every path that writes them."""

"""`make demo`: a local Merge sandbox, a seeded organization and the product's processes, from one command."""

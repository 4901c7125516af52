"""The schema engine: JSON Schema 2020-12 compiled to Python, exact and collecting every error."""

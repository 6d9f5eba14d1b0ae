"""customers_core — the shared layer: models, logic, DAL, errors, settings, observability."""

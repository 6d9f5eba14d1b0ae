"""customers-admin: manage accounts and API keys in a local or deployed table."""

"""Request and response models (pydantic v2)."""

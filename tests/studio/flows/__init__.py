"""Modules of workflows that Studio's browser tests run on a real worker."""

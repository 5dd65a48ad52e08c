"""Streamlit-only helpers: cached resources, session-state keys, reusable charts."""

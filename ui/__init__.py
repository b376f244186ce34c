"""Streamlit glue for prunescope: session state, cached wrappers, figures, error display.

Imports point one way: ``pages/ -> ui/ -> core/``. Nothing in here does maths; it calls core.
"""

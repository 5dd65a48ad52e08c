"""Cross-Sell Studio engine: ingest, store, embeddings, affinity, recommendation, experiments.

Never imports streamlit; pages and the CLI are the only places that render.
"""
__version__ = "0.1.0"

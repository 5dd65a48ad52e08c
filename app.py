"""Cross-Sell Studio: entry point (`streamlit run app.py`)."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import streamlit as st  # noqa: E402

st.set_page_config(page_title="Cross-Sell Studio", page_icon="assets/logo.svg", layout="wide")
pages = [
    st.Page("pages/data.py", title="Data", icon=":material/upload_file:", default=True),
    st.Page("pages/affinity.py", title="Affinity graph", icon=":material/hub:"),
    st.Page("pages/customers.py", title="Customers", icon=":material/person_search:"),
    st.Page("pages/evaluation.py", title="Evaluation", icon=":material/leaderboard:"),
    st.Page("pages/rules.py", title="Merchandising rules", icon=":material/rule:"),
    st.Page("pages/experiments.py", title="Experiments", icon=":material/science:"),
]
st.navigation(pages).run()

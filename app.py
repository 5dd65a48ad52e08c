"""Cross-Sell Studio: entry point (`streamlit run app.py`)."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import streamlit as st  # noqa: E402

from core.store import list_workspaces  # noqa: E402
from ui import state  # noqa: E402
from ui.resources import get_engine  # noqa: E402

st.set_page_config(page_title="Cross-Sell Studio", page_icon="assets/logo.svg", layout="wide")
state.keep_widget_state(st.session_state)

engine = get_engine()
names = list_workspaces(engine)["name"].tolist()
if st.session_state.get(state.SWITCH_WORKSPACE) in names:
    st.session_state[state.WORKSPACE] = st.session_state.pop(state.SWITCH_WORKSPACE)
if st.session_state.get(state.WORKSPACE) not in names:
    st.session_state[state.WORKSPACE] = "demo" if "demo" in names else (names[0] if names else None)
with st.sidebar:
    st.logo("assets/logo.svg")
    st.selectbox("Workspace", names, key=state.WORKSPACE,
                 help="Each upload goes into its own workspace; the demo holds 1,000 Instacart customers.")

pages = [
    st.Page("pages/data.py", title="Data", icon=":material/upload_file:", default=True),
    st.Page("pages/affinity.py", title="Affinity graph", icon=":material/hub:"),
    st.Page("pages/customers.py", title="Customers", icon=":material/person_search:"),
    st.Page("pages/experiments.py", title="Experiments", icon=":material/science:"),
]
st.navigation(pages).run()

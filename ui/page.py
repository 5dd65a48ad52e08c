"""What every page does first: keep widget state, open the engine, draw the shared sidebar.

Each page calls :func:`page_setup` itself (rather than relying on app.py having run first): a
deep link or Streamlit's legacy ``pages/`` folder handling can run a page file on its own.
"""
from __future__ import annotations

import streamlit as st

from core import schema as S
from core.store import list_workspaces
from ui import state
from ui.resources import get_engine


def page_setup() -> str:
    """Return the current workspace name after drawing the sidebar picker."""
    # again here: a page run on its own (deep link on a fresh server) still gets the wide layout
    st.set_page_config(page_title="Cross-Sell Studio", page_icon="assets/logo.svg", layout="wide")
    state.keep_widget_state(st.session_state)
    engine = get_engine()
    names = list_workspaces(engine)["name"].tolist()
    if st.session_state.get(state.SWITCH_WORKSPACE) in names:
        st.session_state[state.WORKSPACE] = st.session_state.pop(state.SWITCH_WORKSPACE)
    if st.session_state.get(state.WORKSPACE) not in names:
        st.session_state[state.WORKSPACE] = S.DEMO_WORKSPACE if S.DEMO_WORKSPACE in names else names[0]
    with st.sidebar:
        st.logo("assets/logo.svg")
        st.selectbox("Workspace", names, key=state.WORKSPACE,
                     help="Each upload goes into its own workspace; the demo holds 1,000 Instacart customers.")
    return st.session_state[state.WORKSPACE]


def saved_result(key: str, workspace: str, prompt: str) -> dict:
    """The last result a page stored under ``key`` (a dict with 'workspace' and 'fingerprint'), with a warning
    when it is from another workspace or older data; without one, show ``prompt`` and stop the page."""
    from ui.resources import workspace_data

    saved = st.session_state.get(key)
    if not saved:
        st.info(prompt)
        st.stop()
    if saved["workspace"] != workspace:
        st.warning(f"The results below are from workspace “{saved['workspace']}”; run again for “{workspace}”.")
    elif saved["fingerprint"] != workspace_data(workspace).fingerprint:
        st.warning("The results below were computed before this workspace's latest import; run again.")
    return saved

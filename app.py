"""prunescope landing page: what the tool does, the dataset picker and a summary of the data.

Navigation comes from the ``pages/`` folder alone (no programmatic navigation), so a deep link
such as ``/Map`` runs that page directly; every page restores the dataset and settings from
session state.
"""

from __future__ import annotations

import streamlit as st

from ui import cache, state
from ui.coords import render_coords_panel
from ui.errors import user_errors
from ui.imported import imported_scores, render_import_panel
from ui.page import load_current_dataset, load_scores, render_findings
from ui.upload_panel import render_upload_panel


def _pick_dataset() -> None:
    state.select_dataset(st.session_state["dataset_choice"])


st.set_page_config(page_title="prunescope", layout="wide")
state.init_state()
cache.start_umap_warmup()  # once per server process: the first UMAP map skips numba compilation

st.title("prunescope")
st.markdown(
    "prunescope scores every example of a dataset by how hard it is, using the self-supervised "
    "prototype metric of Sorscher et al., *Beyond neural scaling laws: beating power law scaling "
    "via data pruning* (NeurIPS 2022): k-means in embedding space, and an example's score is its "
    "distance to the nearest centroid (**higher = harder**). "
    "Explore the scores on a map and per cluster, then keep the fraction you choose (hard, easy "
    "or random, optionally class-balanced) and download the kept indices with a manifest. "
    "The paper's rule: keep easy examples when data is scarce, hard ones when it is abundant."
)

dataset = load_current_dataset()
state.render_sidebar(
    n_examples=dataset.n,
    has_labels=dataset.labels is not None,
    imported=tuple(imported_scores(st.session_state["dataset_key"])),
)
render_findings(dataset, load_scores(state.settings()))

st.subheader("Dataset")
options = cache.sample_keys() + list(st.session_state["uploaded"])
if st.session_state["dataset_key"] not in options:
    options.append(st.session_state["dataset_key"])
st.session_state["dataset_choice"] = st.session_state["dataset_key"]
st.selectbox(
    "Shipped sample or earlier upload",
    options,
    format_func=cache.dataset_label,
    key="dataset_choice",
    on_change=_pick_dataset,
)
render_upload_panel()
render_coords_panel(st.session_state["dataset_key"], dataset)
render_import_panel(st.session_state["dataset_key"], dataset)

st.subheader(dataset.name or st.session_state["dataset_key"])
columns = st.columns(4)
columns[0].metric("Examples (N)", f"{dataset.n:,}")
columns[1].metric("Embedding dimension (d)", f"{dataset.d:,}")
columns[2].metric("Classes", f"{dataset.n_classes:,}" if dataset.labels is not None else "none")
if dataset.labels is not None:
    with user_errors():
        accuracy = cache.knn_accuracy_cached(st.session_state["dataset_key"], state.settings().seed)
    columns[3].metric(
        "k-NN label accuracy",
        "n/a" if accuracy is None else f"{accuracy:.1%}",
        help="Held-out accuracy of a 10-nearest-neighbour classifier (cosine) on the embeddings: "
        "how well the embedding separates the classes"
        + (
            f" (measured on a seeded sample of {cache.KNN_MAX_EXAMPLES:,} examples)."
            if dataset.n > cache.KNN_MAX_EXAMPLES
            else "."
        ),
    )
if dataset.sources:
    st.caption("Files: " + ", ".join(f"{s.name} ({s.size:,} bytes)" for s in dataset.sources))

st.markdown("**Next:**")
st.page_link("pages/1_Map.py", label="Map: the embedding in 2-D, coloured by score")
st.page_link("pages/2_Clusters.py", label="Clusters: score distributions per prototype")
st.page_link("pages/3_Prune_and_export.py", label="Prune & export: choose what to keep, download")
st.page_link("pages/4_Validate.py", label="Validate: probe accuracy against the kept fraction")
st.page_link("pages/5_Theory.py", label="Theory: the paper's teacher-student perceptron, live")
st.page_link("pages/6_Deduplicate.py", label="Deduplicate: near-duplicates (SemDeDup), download")
st.page_link("pages/7_Compare.py", label="Compare: do two metrics agree? How stable is k-means?")

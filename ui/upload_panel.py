"""The landing page's upload forms: embeddings (+ metadata), an image zip, or a text CSV."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ui import cache, state
from ui.coords import COORDS_LABEL
from ui.uploads import (
    data_dir,
    dataset_from_embedding_upload,
    dataset_from_image_zip,
    dataset_from_local_files,
    dataset_from_text_csv,
    local_files_enabled,
)

#: How an image zip gets its labels (core.io.images), stated above the uploader.
IMAGE_LABEL_RULE = (
    "Labels: a top-level `labels.csv` (columns `file,label` or `id,label`) if the zip has one; "
    "otherwise class folders, laid out as `class_name/image.png` (torchvision ImageFolder, "
    "Hugging Face imagefolder), give each image its folder's name; otherwise no labels."
)


def _finish(
    make: Callable[..., tuple[str, object]], label: str, *, embedded: bool = False, **kwargs: object
) -> None:
    """Run one upload handler with progress, make its dataset current, rerun the page.

    A rejected file shows core's message in an error box and leaves the current dataset as is.
    ``embedded``: the app computed the embeddings (image zip, texts), so they can be downloaded.
    """
    progress = cache.LiveProgress(label)
    try:
        key, _ = make(progress=progress, **kwargs)
    except (ValueError, OSError, ImportError) as exc:  # ImportError: MiniLM model files missing
        # Say why, then keep drawing the page: the current dataset is still loaded and usable.
        progress.failed()
        st.error(f"Upload rejected: {str(exc) or exc.__class__.__name__}")
        return
    progress.done()
    if embedded:
        st.session_state["embedded"] = [*st.session_state["embedded"], key]
    state.select_dataset(key)
    st.rerun()


def render_upload_panel() -> None:
    """Three upload tabs; a bad file shows core's message as an error box (no traceback)."""
    # Keyed, its open state in the session: an upload's rerun can change what is drawn above the
    # panel, and an unkeyed expander would then fold under the user's hands.
    with st.expander(
        f"Upload your own data (up to {state.MAX_UPLOAD_MB} MB per file)",
        key="upload_open",
        on_change="rerun",
    ):
        names = ["Embeddings", "Image zip", "Text CSV"]
        if local_files_enabled():
            names.append("Files on this machine")
        tabs = st.tabs(names)
        embeddings_tab, images_tab, text_tab = tabs[:3]
        with embeddings_tab:
            emb = st.file_uploader("Embeddings (.npy, .npz, .parquet, .csv)", key="up_embeddings")
            meta = st.file_uploader("Metadata, optional (.csv, .parquet: id, label)", key="up_meta")
            xy = st.file_uploader(
                f"{COORDS_LABEL}, optional",
                type="npy",
                key="up_coords",
                help="The Map draws these (n, 2) coordinates instead of projecting: for very large "
                "data, run `python -m core project EMB --method umap --seed 0 --out xy.npy` once.",
            )
            if st.button("Load embeddings", disabled=emb is None) and emb is not None:
                _finish(
                    dataset_from_embedding_upload,
                    "Reading embeddings",
                    embeddings_name=emb.name,
                    embeddings_bytes=emb.getvalue(),
                    meta_name=meta.name if meta else None,
                    meta_bytes=meta.getvalue() if meta else None,
                    coords_name=xy.name if xy else None,
                    coords_bytes=xy.getvalue() if xy else None,
                )
        with images_tab:
            st.caption(IMAGE_LABEL_RULE)
            zipped = st.file_uploader(
                "Zip of images (.png, .jpg, ...)",
                type="zip",
                help="`pixels` embeds the pixel values (fast); `ssl` trains a small CNN on CPU.",
            )
            how = st.radio("Embed with", ["pixels", "ssl"], horizontal=True, key="up_embedding")
            epochs = st.number_input("SSL epochs (CPU)", 1, 200, 5, disabled=how != "ssl")
            if st.button("Embed images", disabled=zipped is None) and zipped is not None:
                _finish(
                    dataset_from_image_zip,
                    "Embedding images",
                    embedded=True,
                    zip_name=zipped.name,
                    zip_bytes=zipped.getvalue(),
                    embedding=how,
                    epochs=int(epochs),
                    seed=int(st.session_state["seed"]),
                )
        with text_tab:
            texts = st.file_uploader("CSV with a text column (id, label optional)", type="csv")
            column = st.text_input("Text column", "text")
            if st.button("Embed texts", disabled=texts is None) and texts is not None:
                _finish(
                    dataset_from_text_csv,
                    "Embedding texts",
                    embedded=True,
                    csv_name=texts.name,
                    csv_bytes=texts.getvalue(),
                    text_column=column,
                )
        if local_files_enabled():
            with tabs[3]:
                _render_local_files_tab()
    render_embedding_downloads(str(st.session_state["dataset_key"]))
    render_cache_panel()


def render_embedding_downloads(dataset_key: str) -> None:
    """ "Download embeddings (.npy + ids)" when this app computed the current dataset's embeddings.

    The same two files as ``python -m core embed``/``embed-text`` write: float32 ``.npy`` and
    the ids CSV (``id``, ``label`` when known, ``text`` for texts), built on click.
    """
    if dataset_key not in st.session_state["embedded"]:
        return
    from core.embed.files import embeddings_npy_bytes, ids_csv_bytes

    dataset = cache.get_dataset(dataset_key)
    stem = (dataset.name or "embeddings").split(" ")[0] or "embeddings"

    def npy() -> bytes:
        return embeddings_npy_bytes(dataset.embeddings)

    def ids() -> bytes:
        labels = dataset.label_strings() if dataset.labels is not None else None
        texts = dataset.media if dataset.media_kind == "text" else None
        return ids_csv_bytes(dataset.ids, labels, texts=texts)

    st.markdown(f"**Download embeddings (.npy + ids)** computed here for {dataset.name}:")
    left, right = st.columns(2)
    left.download_button(
        "Embeddings (.npy)", npy, f"{stem}.npy", key="download_embeddings", on_click="ignore"
    )
    right.download_button(
        "Ids and labels (.csv)", ids, f"{stem}.ids.csv", key="download_ids", on_click="ignore"
    )


def render_cache_panel() -> None:
    """The local cache's size and a "Clear cache" button (core.io.store)."""
    from core.cache_dir import cache_dir
    from core.io.store import clear_store, max_store_bytes, store_usage

    with st.expander("Local cache"):
        n_entries, n_bytes = store_usage()
        try:
            cap = f"{max_store_bytes() / 1024**2:,.0f} MB"
        except ValueError as exc:
            cap = f"the default (ignoring {exc})"
        st.caption(
            f"Uploads, computed embeddings, 2-D coordinates and pins are kept in {cache_dir() / 'store'} "
            f"(PRUNESCOPE_CACHE_DIR), so a reload or a restart picks up where you were: "
            f"{n_entries} stored item(s), {n_bytes / 1024**2:,.1f} MB of at most {cap} "
            "(PRUNESCOPE_CACHE_MAX_MB; the least recently used go first)."
        )
        if st.button("Clear cache", key="clear_cache", disabled=n_bytes == 0):
            freed = clear_store()
            st.success(f"Cleared {freed / 1024**2:,.1f} MB. Datasets already open stay open.")


def _render_local_files_tab() -> None:
    """Paths inside ``PRUNESCOPE_DATA_DIR`` only; without it the tab says how to turn it on."""
    folder = data_dir()
    if folder is None:
        st.info(
            "Opening files by path is off. To open files over the upload limit (1M+ rows), "
            "start the app with PRUNESCOPE_DATA_DIR set to the folder holding them; only "
            "files inside that folder can be opened."
        )
        return
    st.caption(
        f"For files over the upload limit (1M+ rows): paths inside {folder} (relative paths "
        "start there). Set PRUNESCOPE_LOCAL_FILES=0 to hide this tab."
    )
    emb_path = st.text_input("Embeddings path", key="local_embeddings")
    meta_path = st.text_input("Metadata path, optional", key="local_meta")
    coords_path = st.text_input(
        "Coordinates path, optional: (n, 2) .npy from `python -m core project`",
        key="local_coords",
        help="The Map draws these coordinates instead of projecting the embeddings.",
    )
    if st.button("Open files", disabled=not emb_path.strip(), key="local_open"):
        _finish(
            dataset_from_local_files,
            "Reading local files",
            embeddings_path=emb_path,
            meta_path=meta_path or None,
            coords_path=coords_path or None,
        )

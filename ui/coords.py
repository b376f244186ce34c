"""2-D map coordinates opened for a dataset (the ``.npy`` of ``python -m core project``).

They are kept per dataset key, in the session (``st.session_state["coords"]``) and in the local
store (``core.io.store.save_coords``), so a reload or a server restart finds them again with the
dataset. The Map offers them as the ``precomputed`` projection; the landing page's form opens
them for the current dataset (an upload, a sample, a file opened by path).
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from ui import state

if TYPE_CHECKING:
    from core.io.data import Dataset
    from core.io.store import StoredCoords

#: What the forms call the file, and where it comes from.
COORDS_LABEL = "2-D coordinates (.npy from `python -m core project`)"


def coords_from_bytes(name: str, data: bytes, *, n_rows: int) -> StoredCoords:
    """Uploaded coordinates for a dataset of ``n_rows`` examples, checked by ``core.io.coords``.

    Raises
    ------
    ValueError
        Over the upload limit, empty, or core's message (shape against n, dtype, NaN rows, ...).
    """
    from core.io.coords import coords_digest, read_coords
    from core.io.store import StoredCoords

    if len(data) > state.MAX_UPLOAD_MB * 1024**2:
        raise ValueError(
            f"{name} is {len(data):,} bytes, more than the {state.MAX_UPLOAD_MB} MB limit"
        )
    if not data:
        raise ValueError(f"{name} is empty")
    base = Path(name).name or "coords.npy"  # base name only: never a path from the client
    with tempfile.TemporaryDirectory(prefix="prunescope-coords-") as folder:
        path = Path(folder) / base
        path.write_bytes(data)
        coords = read_coords(path, n_rows=n_rows)
    return StoredCoords(coords=coords, name=base, digest=coords_digest(coords))


def coords_from_path(given: str, *, n_rows: int) -> StoredCoords:
    """Coordinates read from a path inside ``PRUNESCOPE_DATA_DIR`` (``ui.uploads``' one rule).

    Raises
    ------
    ValueError
        The one refusal for a path outside the data folder, or core's message for a bad file.
    """
    from core.io.coords import coords_digest, read_coords
    from core.io.store import StoredCoords
    from ui.uploads import resolve_in_data_dir

    path = resolve_in_data_dir(given)
    coords = read_coords(path, n_rows=n_rows)
    return StoredCoords(coords=coords, name=path.name, digest=coords_digest(coords))


def attach(dataset_key: str, found: StoredCoords) -> None:
    """Make ``found`` the coordinates of ``dataset_key``: in this session, in the local store
    (best effort), and as the Map's projection."""
    from core.io.store import save_coords

    st.session_state["coords"] = {**st.session_state["coords"], dataset_key: found}
    st.session_state["projection"] = state.PRECOMPUTED
    with contextlib.suppress(OSError, ValueError):
        save_coords(dataset_key, found.coords, name=found.name, digest=found.digest)


def detach(dataset_key: str) -> None:
    """Forget the coordinates of ``dataset_key`` (session and store); the Map projects again."""
    from core.io.store import forget_coords

    st.session_state["coords"] = {
        key: value for key, value in st.session_state["coords"].items() if key != dataset_key
    }
    if st.session_state["projection"] == state.PRECOMPUTED:
        st.session_state["projection"] = state.default_projection()
    with contextlib.suppress(OSError):
        forget_coords(dataset_key)


def attached(dataset_key: str, n_examples: int) -> StoredCoords | None:
    """The coordinates opened for ``dataset_key``: this session's, else the local store's (an
    earlier session's, checked again against ``n_examples``), else None."""
    from core.io.store import load_coords

    found = st.session_state["coords"].get(dataset_key)
    if found is not None and found.coords.shape[0] == n_examples:
        return found
    try:
        found = load_coords(dataset_key, n_examples=n_examples)
    except OSError:
        return None
    if found is not None:
        st.session_state["coords"] = {**st.session_state["coords"], dataset_key: found}
    return found


def projection_label(method: str, found: StoredCoords | None) -> str:
    """The Map's name for a projection: ``umap``, ``pca``, ``from file: xy.npy``."""
    if method == state.PRECOMPUTED:
        return f"from file: {found.name}" if found is not None else "from file"
    return method


def map_projections(found: StoredCoords | None) -> list[str]:
    """The Map's projection choices; ``precomputed`` only with coordinates from a file.

    A ``precomputed`` projection without them (a link, a dataset switch) falls back to
    :func:`ui.state.default_projection` with a note, never an error.
    """
    if found is not None:
        return list(state.PROJECTIONS)
    if st.session_state["projection"] == state.PRECOMPUTED:
        fallback = state.default_projection()
        st.session_state["projection"] = fallback
        st.info(
            "This dataset has no 2-D coordinates from a file, so the Map shows "
            f"{fallback.upper()}. Open an (n, 2) .npy from `python -m core project` for it on "
            "the landing page."
        )
    return [method for method in state.PROJECTIONS if method != state.PRECOMPUTED]


def render_coords_panel(dataset_key: str, dataset: Dataset) -> None:
    """The landing page's form: open (or forget) 2-D coordinates for the current dataset."""
    from ui.uploads import data_dir

    found = attached(dataset_key, dataset.n)
    with st.expander("Open 2-D coordinates for this dataset (.npy from `python -m core project`)"):
        st.caption(
            f"For very large data, compute the Map offline with `python -m core project "
            f"EMB --method umap --seed 0 --out xy.npy` and open the (n, 2) file here: row i is "
            f"example i, so it needs {dataset.n:,} rows. The Map then draws it as the "
            "projection *from file*; it is kept with the dataset in the local cache."
        )
        upload = st.file_uploader(COORDS_LABEL, type="npy", key="coords_file")
        folder = data_dir()
        if folder is not None:
            st.text_input(f"or a path inside {folder}", key="attach_coords_path")
        path = str(st.session_state["attach_coords_path"]) if folder is not None else ""
        left, right = st.columns(2)
        left.button(
            "Open coordinates",
            key="coords_attach",
            disabled=upload is None and not path.strip(),
            on_click=_attach_clicked,
            args=(
                dataset_key,
                dataset.n,
                upload.name if upload else "",
                upload.getvalue() if upload else b"",
                path,
            ),
        )
        right.button(
            "Forget these coordinates",
            key="coords_forget",
            disabled=found is None,
            on_click=_forget_clicked,
            args=(dataset_key,),
        )
        if found is not None:
            st.caption(f"Open now: {found.name} ({found.coords.shape[0]:,} × 2).")
        message = st.session_state["coords_message"]
        if message:
            (st.error if message.startswith("Coordinates rejected") else st.success)(message)


def _attach_clicked(dataset_key: str, n_rows: int, name: str, data: bytes, path: str) -> None:
    # A callback: it runs before the next script run, so the Map's projection can still be set.
    ss = st.session_state
    try:
        found = (
            coords_from_bytes(name, data, n_rows=n_rows)
            if data
            else coords_from_path(path, n_rows=n_rows)
        )
    except (ValueError, OSError) as exc:
        ss["coords_message"] = f"Coordinates rejected: {str(exc) or exc.__class__.__name__}"
        return
    attach(dataset_key, found)
    ss["coords_message"] = (
        f"Opened {found.name} ({n_rows:,} × 2); the Map draws it as the projection from file."
    )


def _forget_clicked(dataset_key: str) -> None:
    detach(dataset_key)
    st.session_state["coords_message"] = ""

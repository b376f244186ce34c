"""Scores imported from a per-example score file: kept per dataset in this session, offered as
``"imported:<column>"`` metrics, and the landing page's import form."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from core.io.imported_scores import SCORE_SUFFIXES
from ui import state

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np

    from core.io.data import Dataset
    from core.scores.metrics import Scores

PREFIX = "imported:"
ORIENTATIONS = {False: "higher = harder", True: "higher = easier (flipped on import)"}


def is_imported(metric: str) -> bool:
    """True for an ``"imported:<column>"`` metric name."""
    return str(metric).startswith(PREFIX)


def imported_scores(dataset_key: str) -> dict[str, Scores]:
    """The scores imported for ``dataset_key`` in this session, by metric name."""
    return dict(st.session_state.get("imported_scores", {}).get(dataset_key, {}))


def digest(dataset_key: str) -> str:
    """A short hash of the imported scores' names and values (a cache key for them)."""
    found = imported_scores(dataset_key)
    return values_digest({name: scores.values for name, scores in found.items()})


def values_digest(values: Mapping[str, np.ndarray]) -> str:
    """A short hash of named score arrays (a cache key for them)."""
    hasher = hashlib.sha256()
    for name, array in sorted(values.items()):
        hasher.update(name.encode())
        hasher.update(array.tobytes())
    return hasher.hexdigest()[:16]


def imported_values(dataset_key: str, metrics: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The values of the imported scores among ``metrics`` (imported for ``dataset_key``).

    Raises
    ------
    ValueError
        An ``imported:`` metric that is not imported for this dataset.
    """
    found = imported_scores(dataset_key)
    missing = [m for m in metrics if is_imported(m) and m not in found]
    if missing:
        raise ValueError(f"{missing[0]} is not imported for this dataset; import the file again")
    return {m: found[m].values for m in metrics if is_imported(m)}


def read_columns(name: str, data: bytes) -> list[str]:
    """The score columns of an uploaded file (``id``/``index`` excluded).

    Raises
    ------
    ValueError
        An unsupported or unreadable file (core's message).
    """
    from core.io.imported_scores import KEY_COLUMNS, read_score_table

    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), name, data)
        if path.suffix.lower() == ".npy":
            return [path.stem]
        import pandas as pd

        try:
            frame = (
                pd.read_csv(path, nrows=0)
                if path.suffix.lower() == ".csv"
                else pd.read_parquet(path)
            )
        except Exception as exc:  # pandas raises many types for a malformed file
            raise ValueError(f"could not read score file {path.name}: {exc}") from None
        columns = [str(c) for c in frame.columns if str(c) not in KEY_COLUMNS]
        if not columns:
            read_score_table(path)  # raises core's own message
        return columns


def import_upload(
    dataset_key: str, dataset: Dataset, name: str, data: bytes, column: str, easier: bool
) -> str:
    """Align an uploaded score column to the dataset and keep it; returns its metric name.

    Raises
    ------
    ValueError
        Core's message for a bad file (missing ids, NaN, wrong row count, ...).
    """
    from core.io.imported_scores import import_scores, read_score_table

    with tempfile.TemporaryDirectory() as folder:
        table = read_score_table(_write(Path(folder), name, data), column)
        scores = import_scores(table, ids=dataset.ids, n=dataset.n, higher_is_easier=easier)
    store = st.session_state["imported_scores"]
    store[dataset_key] = {**store.get(dataset_key, {}), scores.metric: scores}
    _keep(dataset_key, scores)
    return scores.metric


def restore(dataset_key: str, n_examples: int) -> None:
    """Once per session and dataset: bring back the scores an earlier session imported for it
    (a reload, a restart, a shared link), from the local store (``core.io.store``)."""
    from core.io.store import load_imported_scores
    from core.scores.metrics import ScoreParams, Scores

    store = st.session_state["imported_scores"]
    if dataset_key in store:
        return
    found: dict[str, Scores] = {}
    try:
        stored = load_imported_scores(dataset_key, n_examples=n_examples)
    except OSError:
        stored = []
    fields = {field.name for field in dataclasses.fields(ScoreParams)}
    for item in stored:  # the params _keep stored, JSON scalars only; unknown names are dropped
        params = ScoreParams(**{name: v for name, v in item.meta.items() if name in fields})
        found[item.metric] = Scores(item.metric, item.values, None, None, params)
    store[dataset_key] = found


def _keep(dataset_key: str, scores: Scores) -> None:
    """Store imported scores for later sessions (best effort: caching is optional)."""
    from core.io.store import save_imported_scores

    meta = {k: v for k, v in dataclasses.asdict(scores.params).items() if v is not None}
    with contextlib.suppress(OSError, ValueError):
        save_imported_scores(dataset_key, scores.metric, scores.values, meta=meta)


def _write(folder: Path, name: str, data: bytes) -> Path:
    suffix = Path(name).suffix.lower()
    if suffix not in SCORE_SUFFIXES:
        raise ValueError(f"score file {name} should be one of {', '.join(SCORE_SUFFIXES)}")
    path = folder / Path(name).name
    path.write_bytes(data)
    return path


def render_import_panel(dataset_key: str, dataset: Dataset) -> None:
    """Upload a per-example score file, pick its column and orientation, import it."""
    # Keyed, its open state in the session: an import changes the metric and so what the page
    # draws above this panel, and an unkeyed expander moved down the page would fold again.
    with st.expander(
        "Import per-example scores (CSV, parquet, npy)", key="import_open", on_change="rerun"
    ):
        st.caption(
            "One score per example; an `id` column is matched to the dataset's ids, an `index` "
            "column to row numbers, else row i is example i. Once imported, "
            "`imported:<column>` is a metric in the sidebar of every page."
        )
        upload = st.file_uploader(
            "Score file",
            type=["csv", "parquet", "npy"],
            key="import_file",
            on_change=_forget_message,
        )
        if upload is None:
            return
        data = upload.getvalue()
        try:
            columns = read_columns(upload.name, data)
        except (ValueError, OSError) as exc:
            st.error(f"Score file rejected: {exc}")
            return
        if st.session_state["import_column"] not in columns:
            st.session_state["import_column"] = columns[0]
        st.selectbox("Score column", columns, key="import_column")
        st.radio(
            "Orientation",
            list(ORIENTATIONS),
            format_func=ORIENTATIONS.__getitem__,
            key="import_higher_is_easier",
            horizontal=True,
        )
        st.button(
            "Import scores",
            key="import_run",
            on_click=_import_clicked,
            args=(dataset_key, dataset),
        )
        message = st.session_state["import_message"]
        if message:
            (st.error if message.startswith("Score file rejected") else st.success)(message)


def layout_settings(settings: state.Settings) -> state.Settings:
    """The settings that lay out the Map: an imported metric has no k-means or k-NN to share,
    so the layout and subsample use the cheap ``random`` metric's (no clusters)."""
    return replace(settings, metric="random") if is_imported(settings.metric) else settings


def _forget_message() -> None:
    st.session_state["import_message"] = ""  # it was about the previous file


def _import_clicked(dataset_key: str, dataset: Dataset) -> None:
    # A callback: it runs before the next script run, so the sidebar's metric can still be set.
    ss = st.session_state
    upload = ss["import_file"]  # the file now in the uploader, even if replaced since the last run
    if upload is None:
        return
    column, easier = str(ss["import_column"]), bool(ss["import_higher_is_easier"])
    ss["import_message"] = use_score_file(
        dataset_key, dataset, upload.name, upload.getvalue(), column, easier
    )


def use_score_file(
    dataset_key: str, dataset: Dataset, name: str, data: bytes, column: str, easier: bool = False
) -> str:
    """Import a score file's column and make it the sidebar's metric (call from a widget
    callback, before the sidebar is drawn); returns what happened, for a message box.

    The Compare page uses it for the consensus (mean over seeds) of a stability run, with the
    very bytes it offers as a download, so ``prune --scores FILE:score_mean`` keeps the same rows.
    """
    try:
        metric = import_upload(dataset_key, dataset, name, data, column, easier)
    except (ValueError, OSError) as exc:
        return f"Score file rejected: {exc}"
    st.session_state["metric"] = metric
    return f"Imported {metric} from {name} for {dataset.n:,} examples; it is the metric now."

"""One real-browser test: streamlit run app.py, select and pin on the map, prune, download, compare.

Drives Debian's ``/usr/bin/chromium`` (Playwright's own browser downloads are never used). Without
Chromium the test skips locally and fails when the ``CI`` environment variable is set. The dataset
is the default shipped sample (``ui.state.default_dataset_key``) unless ``PRUNESCOPE_SAMPLE`` names
another key; the projection is PCA unless ``PRUNESCOPE_PROJECTION`` says otherwise (UMAP's first
run compiles numba kernels for 20-45 s). Screenshots of every page go to
``test-output/screenshots/``; the reload/link test writes the README's to ``docs/screenshots/``.
The server stores uploads and pins in its own empty ``PRUNESCOPE_CACHE_DIR``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect, sync_playwright

from tests.e2e.serving import CHROMIUM_ARGS, IDLE, ROOT, streamlit_server
from tests.e2e.serving import chromium as _chromium

SCREENSHOTS = ROOT / "test-output" / "screenshots"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = dict(os.environ, PRUNESCOPE_PROJECTION=os.environ.get("PRUNESCOPE_PROJECTION", "pca"))
    env["PRUNESCOPE_CACHE_DIR"] = str(tmp_path_factory.mktemp("server-cache"))  # an empty store
    with streamlit_server(env) as (url, _process):
        yield url


KEEP_FRACTION = 0.7
#: Record the data range of the next box selection (plotly's ``plotly_selected`` event).
RECORD_SELECTION = """() => {
  window.selectedRange = null;
  document.querySelector('.js-plotly-plot').on('plotly_selected', (event) => {
    window.selectedRange = event && event.range;
  });
}"""
#: Rows (``customdata[0]``) of the map's points inside the recorded range, from the plot's own
#: data; the cluster-centre markers carry -1 and are left out.
ROWS_IN_SELECTION = """() => {
  const range = window.selectedRange;
  if (!range) return null;
  const gd = document.querySelector('.js-plotly-plot');
  const xs = [...range.x].sort((a, b) => a - b), ys = [...range.y].sort((a, b) => a - b);
  const rows = [];
  for (const trace of gd._fullData) {
    if (!trace.customdata) continue;
    for (let i = 0; i < trace.x.length; i++) {
      const row = trace.customdata[i][0];
      if (row >= 0 && trace.x[i] >= xs[0] && trace.x[i] <= xs[1]
          && trace.y[i] >= ys[0] && trace.y[i] <= ys[1]) rows.push(row);
    }
  }
  return rows.sort((a, b) => a - b);
}"""
#: Client-pixel position of the first plotted example, to draw the selection box around.
FIRST_POINT = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  const rect = gd.querySelector('.nsewdrag').getBoundingClientRect();
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, trace = gd._fullData[0];
  return [rect.left + xa.d2p(trace.x[0]), rect.top + ya.d2p(trace.y[0])];
}"""


def _core_answer(keep_fraction: float, always_keep: list[int]):
    """The dataset and core's kept rows for the app's default settings plus the pins."""
    sys.path.insert(0, str(ROOT))
    from core.prune.select import select_kept
    from core.scores.metrics import compute_scores, default_k
    from ui.cache import get_dataset
    from ui.state import default_dataset_key

    dataset = get_dataset(default_dataset_key())
    k = default_k(dataset.n, dataset.n_classes or None)
    scores = compute_scores(dataset.embeddings, "ssp", k=k, labels=dataset.labels, seed=0)
    selection = select_kept(
        scores.values, keep_fraction, strategy="keep_hard", seed=0, always_keep=always_keep
    )
    return dataset, [int(i) for i in selection.kept_indices]


def _wait_idle(page) -> None:
    page.wait_for_selector(IDLE, timeout=180_000)


def _screenshot(page, name: str) -> None:
    # Streamlit scrolls inside its own container: grow the viewport to the content's height.
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMainBlockContainer]')]"
        ".map(e => e.scrollHeight), 800)"
    )
    page.set_viewport_size({"width": 1400, "height": int(height) + 200})
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})


def _open(page, server: str, path: str, ready: str) -> None:
    page.goto(f"{server}/{path}")
    page.locator(ready).first.wait_for(timeout=180_000)
    _wait_idle(page)


def _sidebar_link(page, label: str, ready: str) -> None:
    """Switch page inside the same session (a fresh URL would start a new session)."""
    page.get_by_test_id("stSidebarNav").get_by_text(label, exact=True).click()
    page.locator(ready).first.wait_for(timeout=180_000)
    _wait_idle(page)


def _download(page, label: str, path: Path) -> Path:
    with page.expect_download() as download_info:
        page.get_by_text(label, exact=True).click()
    download_info.value.save_as(path)
    return path


def test_map_selection_pins_and_download_match_core(server: str, tmp_path: Path) -> None:
    executable = _chromium()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    plot = '[data-testid="stPlotlyChart"] .js-plotly-plot'
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)

        # Deep links, each in a fresh context: every page restores its defaults on its own.
        for path, ready, name in [
            ("", 'text="Examples (N)"', "0_home.png"),
            ("Clusters", plot, "2_clusters.png"),
            ("Prune_and_export", 'text="Kept indices (CSV)"', "3_prune_deep_link.png"),
        ]:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            _open(page, server, path, ready)
            assert not page.get_by_test_id("stException").count()
            assert not page.get_by_test_id("stAlertContentError").count()
            _screenshot(page, name)
            context.close()

        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        _open(page, server, "Map", plot)
        page.wait_for_function("() => document.querySelector('.js-plotly-plot')._fullLayout")
        _screenshot(page, "1_map.png")

        in_box = _box_select(page)
        page.mouse.move(5, 5)  # no hover label over the map in the screenshot
        page.set_viewport_size({"width": 1400, "height": 3000})  # thumbnails load lazily
        page.wait_for_function(  # real images, decoded, not broken links
            "(n) => { const images = [...document.querySelectorAll('[data-testid=stImage] img')];"
            " return images.length === n && images.every(i => i.complete && i.naturalWidth > 0); }",
            arg=min(len(in_box), 48),
        )
        _screenshot(page, "1_map_selection.png")
        page.get_by_role("button", name="Always keep these").click()
        page.get_by_text(f"Pinned: {len(in_box)} always-keep, 0 always-drop").wait_for()
        _wait_idle(page)

        _sidebar_link(page, "Prune and export", 'text="Kept indices (CSV)"')
        page.get_by_text(f"Map pins: {len(in_box)} always-keep, 0 always-drop.").wait_for()
        thumb = page.get_by_role("slider", name="Keep fraction")
        for _ in range(100):  # 0.80 -> 0.70 in steps of 0.01; each key press reruns the page
            keep_fraction = float(thumb.input_value())
            if abs(keep_fraction - KEEP_FRACTION) < 1e-6:
                break
            thumb.press("ArrowLeft" if keep_fraction > KEEP_FRACTION else "ArrowRight")
            _wait_idle(page)
        assert abs(keep_fraction - KEEP_FRACTION) < 1e-6
        dataset, expected = _core_answer(keep_fraction, in_box)
        kept_metric = page.get_by_test_id("stMetricValue").filter(has_text=f"{len(expected):,}")
        kept_metric.first.wait_for(timeout=60_000)
        _wait_idle(page)
        _screenshot(page, "3_prune_and_export.png")

        lines = _download(page, "Kept indices (CSV)", tmp_path / "kept.csv").read_text()
        lines = lines.splitlines()
        assert lines[0] == "index,id,score,cluster,label"
        rows = [int(line.split(",")[0]) for line in lines[1:]]
        assert rows == expected
        assert set(in_box) <= set(rows)
        manifest_path = _download(page, "Manifest (JSON)", tmp_path / "kept.manifest.json")
        manifest = json.loads(manifest_path.read_text())
        assert manifest["always_keep"] == [str(dataset.ids[row]) for row in in_box]
        assert manifest["always_drop"] == []
        assert manifest["n_kept"] == len(expected)
        browser.close()


def _imagefolder_zip(path: Path) -> Path:
    """A tiny ImageFolder-style zip: ``pets/<class>/<n>.png``, three classes of 8x8 images."""
    import io
    import zipfile

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(24):
            buffer = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(buffer, "PNG")
            archive.writestr(f"pets/{('cat', 'dog', 'owl')[i % 3]}/{i:02d}.png", buffer.getvalue())
    return path


def test_imagefolder_zip_upload_labels_images_by_class_folder(server: str, tmp_path: Path) -> None:
    executable = _chromium()
    archive = _imagefolder_zip(tmp_path / "pets.zip")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        _open(page, server, "", 'text="Examples (N)"')
        page.get_by_text("Upload your own data").click()
        page.get_by_role("tab", name="Image zip").click()
        page.get_by_text("class folders, laid out as").wait_for()  # the rule, not a tooltip
        panel = page.get_by_role("tabpanel", name="Image zip")
        panel.locator('input[type="file"]').set_input_files(str(archive))
        page.get_by_role("button", name="Embed images").click()  # pixels: the default
        page.get_by_role("heading", name="pets (pixels)").wait_for(timeout=120_000)
        _wait_idle(page)
        assert not page.get_by_test_id("stAlertContentError").count()
        classes = page.get_by_test_id("stMetric").filter(has_text="Classes")
        assert classes.get_by_test_id("stMetricValue").inner_text() == "3"
        browser.close()


#: Screenshots of every page (1280 x 800, the visible part only) go to test-output/ on every run;
#: with PRUNESCOPE_DOC_SCREENSHOTS=1 they replace the README's committed ones in docs/screenshots.
DOC_SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("PRUNESCOPE_DOC_SCREENSHOTS") == "1"
    else SCREENSHOTS / "pages"
)
PAGES = [
    ("", 'text="Examples (N)"', "home.png"),
    ("Map", '[data-testid="stPlotlyChart"] .js-plotly-plot', "map.png"),
    ("Clusters", '[data-testid="stPlotlyChart"] .js-plotly-plot', "clusters.png"),
    ("Prune_and_export", 'text="Kept indices (CSV)"', "prune_and_export.png"),
    ("Validate", 'text="Kept fractions"', "validate.png"),
    ("Theory", '[data-testid="stPlotlyChart"] .js-plotly-plot', "theory.png"),
    ("Deduplicate", '[data-testid="stPlotlyChart"] .js-plotly-plot', "deduplicate.png"),
    ("Compare", '[data-testid="stPlotlyChart"] .js-plotly-plot', "compare.png"),
]


def _blobs(folder: Path) -> tuple[Path, Path]:
    """90 embeddings in three labelled blobs (vectors.npy) and their metadata (id, label)."""
    import numpy as np

    rng = np.random.default_rng(0)
    centres = rng.normal(scale=6.0, size=(3, 8))
    labels = np.arange(90) % 3
    embeddings = (centres[labels] + rng.normal(size=(90, 8))).astype(np.float32)
    np.save(folder / "vectors.npy", embeddings)
    meta = "id,label\n" + "".join(f"v{i},{'abc'[c]}\n" for i, c in enumerate(labels))
    (folder / "vectors.csv").write_text(meta)
    return folder / "vectors.npy", folder / "vectors.csv"


def _unfold_upload_panel(page, panel) -> None:
    """Open the upload expander when closed (an upload's rerun may fold it)."""
    _wait_idle(page)
    if not panel.is_visible():
        page.get_by_text("Upload your own data").click()
        panel.wait_for()


def _upload_embedding_files(page, files: tuple[tuple[str, Path], ...]) -> None:
    """Put each file in the Embeddings tab's uploader whose label starts with its label, waiting
    until the uploader shows the file (an upload's rerun may fold the panel: unfolded again)."""
    panel = page.get_by_role("tabpanel", name="Embeddings")
    for label, path in files:
        _unfold_upload_panel(page, panel)
        uploader = panel.get_by_test_id("stFileUploader").filter(has_text=label)
        uploader.locator('input[type="file"]').set_input_files(str(path))
        _wait_idle(page)
        _unfold_upload_panel(page, panel)
        uploader.get_by_text(path.name, exact=True).wait_for()


def _box_select(page) -> list[int]:
    """Drag a box around the first plotted point on the Map (its default drag mode is "select");
    the rows inside, once the page lists them."""
    x, y = page.evaluate(FIRST_POINT)
    page.evaluate(RECORD_SELECTION)
    page.mouse.move(x - 40, y - 40)
    page.mouse.down()
    page.mouse.move(x + 40, y + 40, steps=12)
    page.mouse.up()
    page.wait_for_function("() => window.selectedRange")
    in_box = page.evaluate(ROWS_IN_SELECTION)
    assert in_box  # the box is centred on a plotted point
    page.get_by_text(f"{len(in_box):,} selected, hardest first").wait_for(timeout=60_000)
    _wait_idle(page)
    return in_box


def _pin_a_box(page) -> list[int]:
    """Box-select around the first plotted point on the Map and pin the rows as always-keep."""
    page.wait_for_function("() => document.querySelector('.js-plotly-plot')._fullLayout")
    in_box = _box_select(page)
    page.get_by_role("button", name="Always keep these").click()
    page.get_by_text(f"Pinned: {len(in_box)} always-keep, 0 always-drop").wait_for()
    _wait_idle(page)
    return in_box


def _set_keep_fraction(page, target: float) -> None:
    thumb = page.get_by_role("slider", name="Keep fraction")
    for _ in range(100):  # each key press moves 0.01 and reruns the page
        value = float(thumb.input_value())
        if abs(value - target) < 1e-6:
            # The slider shows a value before it sends it (debounced): wait until the app has
            # run with it, i.e. the link carries it, before anyone reloads or copies the link.
            page.wait_for_function(
                "(keep) => new URL(location.href).searchParams.get('keep') === keep",
                arg=f"{target:g}",
                timeout=60_000,
            )
            _wait_idle(page)
            return
        thumb.press("ArrowLeft" if value > target else "ArrowRight")
        _wait_idle(page)
    raise AssertionError(f"the keep slider stayed at {value}, not {target}")


def _assert_view_restored(page, n_pinned: int, keep: float) -> None:
    """The uploaded dataset, its pins and the keep fraction, as the Prune page shows them."""
    page.get_by_text(f"Map pins: {n_pinned} always-keep, 0 always-drop.").wait_for()
    assert page.get_by_test_id("stSidebar").get_by_text("vectors", exact=False).count()
    slider = page.get_by_role("slider", name="Keep fraction")
    assert abs(float(slider.input_value()) - keep) < 1e-6
    assert not page.get_by_test_id("stException").count()


def test_reload_and_a_copied_link_restore_dataset_pins_and_settings(
    server: str, tmp_path: Path
) -> None:
    executable = _chromium()
    embeddings, meta = _blobs(tmp_path)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        # Tall enough that the whole map is on screen for the mouse to box-select in.
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        _open(page, server, "", 'text="Examples (N)"')
        _upload_embedding_files(page, (("Embeddings (", embeddings), ("Metadata, optional", meta)))
        page.get_by_role("button", name="Load embeddings", disabled=False).click()
        page.get_by_role("heading", name="vectors").wait_for(timeout=120_000)
        _wait_idle(page)

        _sidebar_link(page, "Map", '[data-testid="stPlotlyChart"] .js-plotly-plot')
        in_box = _pin_a_box(page)
        _sidebar_link(page, "Prune and export", 'text="Kept indices (CSV)"')
        _set_keep_fraction(page, 0.7)
        page.wait_for_function("() => location.search.includes('keep=0.7')")
        link = page.url
        assert "dataset=upload%3A" in link or "dataset=upload:" in link

        page.reload()
        page.locator('text="Kept indices (CSV)"').first.wait_for(timeout=180_000)
        _wait_idle(page)
        _assert_view_restored(page, len(in_box), 0.7)

        context = browser.new_context(viewport={"width": 1280, "height": 800})
        fresh = context.new_page()
        fresh.goto(link)
        fresh.locator('text="Kept indices (CSV)"').first.wait_for(timeout=180_000)
        _wait_idle(fresh)
        _assert_view_restored(fresh, len(in_box), 0.7)

        DOC_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        query = link.partition("?")[2]
        for path, ready, name in PAGES:
            _open(fresh, server, f"{path}?{query}", ready)
            assert not fresh.get_by_test_id("stException").count()
            fresh.mouse.move(5, 5)
            fresh.screenshot(path=str(DOC_SCREENSHOTS / name))
        context.close()


def test_compare_page_renders_without_an_exception(server: str) -> None:
    executable = _chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        _open(page, server, "Compare", 'h1:has-text("Compare")')
        page.get_by_text("Rank correlation", exact=True).wait_for()
        assert not page.get_by_test_id("stException").count()
        assert not page.get_by_test_id("stAlertContentError").count()
        browser.close()


def _score_files(folder: Path) -> tuple[Path, Path, Path, dict[str, float]]:
    """A scores CSV for the default sample (ids in reverse order, columns loss and margin), the
    same with a repeated id (rows 0 and 1) and with a NaN margin (row 5); and margin by id."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from ui.cache import get_dataset
    from ui.state import default_dataset_key

    ids = [str(i) for i in get_dataset(default_dataset_key()).ids][::-1]
    rng = np.random.default_rng(0)
    margin = np.round(rng.uniform(0.0, 1.0, len(ids)), 6)
    loss = np.round(rng.uniform(0.0, 5.0, len(ids)), 6)
    rows = [f"{i},{a},{b}" for i, a, b in zip(ids, loss, margin, strict=True)]
    good, repeated, missing = (folder / f"{n}.csv" for n in ("scores", "repeated", "missing"))
    good.write_text("\n".join(["id,loss,margin", *rows]) + "\n")
    repeated.write_text("\n".join(["id,loss,margin", rows[0], rows[0], *rows[2:]]) + "\n")
    nan_row = f"{ids[5]},{loss[5]},nan"
    missing.write_text("\n".join(["id,loss,margin", *rows[:5], nan_row, *rows[6:]]) + "\n")
    return good, repeated, missing, dict(zip(ids, margin.tolist(), strict=True))


def _import_panel(page):
    return page.get_by_test_id("stExpander").filter(has_text="Import per-example scores")


def _pick(page, combobox, option: str, tries: int = 4) -> None:
    """Choose ``option`` in a selectbox. A rerun that was still on its way when the list opened
    (the upload's, say) redraws the selectbox and takes the open list away: then wait until the
    server is idle and open it again, a bounded number of times."""
    for _ in range(tries):
        _wait_idle(page)
        combobox.click()  # focuses it; the arrow key opens the list (a click alone may not)
        combobox.press("ArrowDown")
        try:
            page.get_by_role("listbox").get_by_text(option, exact=True).click(timeout=10_000)
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
            continue
        _wait_idle(page)
        if combobox.input_value() == option:
            break
    expect(combobox).to_have_value(option)


def _import_file(page, path: Path, column: str, *, easier: bool) -> None:
    """Upload a score file in the landing page's import panel, pick column and orientation,
    press Import scores."""
    panel = _import_panel(page)
    panel.locator('input[type="file"]').set_input_files(str(path))
    panel.get_by_text(path.name, exact=True).wait_for()
    # The server has run with the new file once the last import's message is gone.
    expect(panel.get_by_test_id("stAlert")).to_have_count(0, timeout=60_000)
    column_select = panel.get_by_test_id("stSelectbox").filter(has_text="Score column")
    combobox = column_select.get_by_role("combobox")
    combobox.wait_for(timeout=60_000)  # drawn once the server has read the file
    _pick(page, combobox, column)
    orientation = "higher = easier (flipped on import)" if easier else "higher = harder"
    panel.get_by_text(orientation, exact=True).click()
    _wait_idle(page)
    panel.get_by_role("button", name="Import scores").click()
    _wait_idle(page)


def test_score_file_import_adds_a_metric_and_names_bad_rows(server: str, tmp_path: Path) -> None:
    executable = _chromium()
    good, repeated, missing, margin = _score_files(tmp_path)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1200}, accept_downloads=True)
        _open(page, server, "", 'text="Examples (N)"')
        page.get_by_text("Import per-example scores").click()
        panel = _import_panel(page)
        panel.get_by_text("Score file", exact=True).wait_for()

        _import_file(page, good, "margin", easier=True)
        done = (
            f"Imported imported:margin from {good.name} for {len(margin):,} examples; "
            "it is the metric now."
        )
        panel.get_by_text(done).wait_for(timeout=60_000)  # the panel stayed open
        sidebar_metric = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Metric")
        expect(sidebar_metric).to_have_value("imported:margin")

        # A bad file keeps the imported metric and names the offending rows.
        _import_file(page, repeated, "margin", easier=True)
        panel.get_by_text("id repeats in rows 0 (").wait_for(timeout=60_000)
        assert panel.get_by_test_id("stAlertContentError").count() == 1
        _import_file(page, missing, "margin", easier=True)
        panel.get_by_text("1 missing/NaN values in rows 5").wait_for(timeout=60_000)
        assert not page.get_by_test_id("stException").count()

        _sidebar_link(page, "Prune and export", 'text="Kept indices (CSV)"')
        expect(sidebar_metric).to_have_value("imported:margin")
        manifest = json.loads(_download(page, "Manifest (JSON)", tmp_path / "m.json").read_text())
        assert manifest["metric"] == "imported:margin"
        assert manifest["score_params"]["higher_is_easier"] is True
        lines = _download(page, "Kept indices (CSV)", tmp_path / "kept.csv").read_text()
        header, *rows = [line.split(",") for line in lines.splitlines()]
        assert len(rows) == manifest["n_kept"] > 0
        id_at, score_at = header.index("id"), header.index("score")
        for row in rows:  # flipped on import: higher = harder
            assert float(row[score_at]) == pytest.approx(-margin[row[id_at]], abs=1e-9)

        # A reload is a new session: the imported scores come back from the local store.
        page.reload()
        _wait_idle(page)
        expect(sidebar_metric).to_have_value("imported:margin")
        page.locator('text="Kept indices (CSV)"').first.wait_for(timeout=180_000)
        again = _download(page, "Kept indices (CSV)", tmp_path / "kept-again.csv").read_text()
        assert again == lines
        browser.close()


MAP_TITLE = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  return gd && gd._fullLayout && gd._fullLayout.title ? String(gd._fullLayout.title.text) : null;
}"""


def test_slider_moves_rerun_a_fragment_and_every_page_keeps_its_settings(server: str) -> None:
    """The keep slider reruns only a fragment of Prune & export; its value and the settings of
    pages it does not draw (the Map's colouring) must survive the next page switch."""
    executable = _chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        _open(page, server, "Map", '[data-testid="stPlotlyChart"] .js-plotly-plot')
        page.get_by_test_id("stRadio").get_by_text("Cluster", exact=True).click()
        page.wait_for_function(f"() => ({MAP_TITLE})().includes('coloured by cluster')")
        _wait_idle(page)

        _sidebar_link(page, "Prune and export", 'text="Kept indices (CSV)"')
        charts = page.get_by_test_id("stVegaLiteChart")
        expect(charts).to_have_count(2)  # histogram and per-class counts
        thumb = page.get_by_role("slider", name="Keep fraction")
        start = float(thumb.input_value())
        for _ in range(2):
            thumb.press("ArrowLeft")
            _wait_idle(page)
        moved = f"{start - 0.02:.2f}"
        page.wait_for_function(
            "(keep) => new URL(location.href).searchParams.get('keep') === keep", arg=moved
        )
        assert not page.get_by_test_id("stException").count()

        _sidebar_link(page, "Map", '[data-testid="stPlotlyChart"] .js-plotly-plot')
        page.wait_for_function(f"() => ({MAP_TITLE})() !== null")
        assert "coloured by cluster" in page.evaluate(MAP_TITLE)
        params = page.evaluate("() => Object.fromEntries(new URL(location.href).searchParams)")
        assert params["keep"] == moved
        assert params["color"] == "cluster"

        _sidebar_link(page, "Prune and export", 'text="Kept indices (CSV)"')
        assert page.get_by_role("slider", name="Keep fraction").input_value() == moved
        assert not page.get_by_test_id("stException").count()
        browser.close()


#: Each drawn example's [row, x, y] from the Map's markers (cluster centres carry row -1).
DRAWN_POINTS = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  const points = [];
  for (const trace of gd._fullData) {
    if (!trace.customdata) continue;
    for (let i = 0; i < trace.x.length; i++) {
      const row = trace.customdata[i][0];
      if (row >= 0) points.push([row, trace.x[i], trace.y[i]]);
    }
  }
  return points;
}"""


def test_uploaded_coordinates_are_checked_then_drawn_by_the_map(
    server: str, tmp_path: Path
) -> None:
    """The Embeddings tab's coordinates uploader: a file of the wrong length is one error naming
    both shapes; the right one makes the Map draw exactly its coordinates, "from file"."""
    import numpy as np

    executable = _chromium()
    embeddings, meta = _blobs(tmp_path)
    n = int(np.load(embeddings).shape[0])
    xy = np.column_stack([100.0 * np.arange(n), np.sin(np.arange(n))]).astype(np.float32)
    np.save(tmp_path / "xy.npy", xy)
    np.save(tmp_path / "short.npy", xy[:-1])
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        _open(page, server, "", 'text="Examples (N)"')
        files = (("Embeddings (", embeddings), ("Metadata, optional", meta))
        _upload_embedding_files(page, (*files, ("2-D coordinates", tmp_path / "short.npy")))
        page.get_by_role("button", name="Load embeddings", disabled=False).click()
        error = page.get_by_test_id("stAlertContentError")
        error.wait_for(timeout=120_000)
        assert error.inner_text() == (
            f"Upload rejected: coordinates short.npy has shape ({n - 1}, 2) but the dataset has "
            f"n={n} rows: expected shape ({n}, 2)"
        )

        _upload_embedding_files(page, (("2-D coordinates", tmp_path / "xy.npy"),))
        page.get_by_role("button", name="Load embeddings", disabled=False).click()
        page.get_by_role("heading", name="vectors").wait_for(timeout=120_000)
        _wait_idle(page)
        assert not page.get_by_test_id("stAlertContentError").count()

        _sidebar_link(page, "Map", '[data-testid="stPlotlyChart"] .js-plotly-plot')
        chosen = page.get_by_test_id("stRadio").filter(has_text="from file: xy.npy")
        expect(chosen.locator("input:checked")).to_have_count(1)
        expect(chosen.get_by_role("radio", name="from file: xy.npy")).to_be_checked()
        points = np.array(page.evaluate(DRAWN_POINTS))
        drawn = np.full((n, 2), np.nan)
        drawn[points[:, 0].astype(int)] = points[:, 1:]
        np.testing.assert_allclose(drawn, xy, rtol=1e-6)  # every example, at its file position
        assert "projection=precomputed" in page.url
        assert not page.get_by_test_id("stException").count()
        browser.close()

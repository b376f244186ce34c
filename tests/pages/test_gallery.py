"""ui.gallery on a text dataset: tables cut texts, an expander shows every one in full."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def test_truncated_texts_can_be_read_in_full() -> None:
    def script() -> None:
        import numpy as np

        from core.io.data import make_dataset
        from ui.gallery import render_gallery

        texts = np.array(["word " * 100 + "END", "short"])
        embeddings = np.eye(2, dtype=np.float32)
        dataset = make_dataset(embeddings, media=texts, media_kind="text")
        render_gallery(dataset, [0, 1], np.array([0.5, 0.1]))

    at = AppTest.from_function(script, default_timeout=60)
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table["text"][0]) == 200  # cut in the table
    assert at.expander[0].label == "Read the 2 texts in full"
    assert at.expander[0].text[0].value.endswith("END")  # whole text in the expander

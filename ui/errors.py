"""Show user errors as one ``st.error`` and stop the page: never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import streamlit as st


def fail(message: str) -> NoReturn:
    """Show ``message`` as an error box and stop this script run."""
    st.error(message)
    st.stop()
    raise AssertionError("unreachable: st.stop() raises")  # pragma: no cover


@contextmanager
def user_errors(prefix: str = "") -> Iterator[None]:
    """Turn a ``ValueError``/``OSError`` from core into :func:`fail` with core's message.

    Core validates user input at its public functions and raises ``ValueError`` naming the bad
    values (``"k=5000 should be <= n_examples=1797"``); that message is what the user should read.
    """
    try:
        yield
    except (ValueError, OSError) as exc:
        message = str(exc) or exc.__class__.__name__
        fail(f"{prefix}{message}")

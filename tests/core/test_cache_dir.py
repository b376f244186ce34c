"""core.cache_dir: the cache directory resolves from the environment; numba caches there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core import cache_dir as cache_dir_module
from core.cache_dir import ENV_CACHE_DIR, cache_dir, configure_numba_cache


def test_cache_dir_comes_from_the_environment_or_home(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_CACHE_DIR, str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.setenv(ENV_CACHE_DIR, "  ")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "prunescope"


def test_numba_caches_under_the_cache_dir(monkeypatch, tmp_path: Path) -> None:
    import numba

    monkeypatch.setenv(ENV_CACHE_DIR, str(tmp_path))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(numba.config, "CACHE_DIR", numba.config.CACHE_DIR)
    path = configure_numba_cache()
    assert path == tmp_path / "numba"
    assert path.is_dir()
    assert os.environ["NUMBA_CACHE_DIR"] == str(path)
    assert str(path) == numba.config.CACHE_DIR


def test_an_explicit_numba_cache_dir_wins(monkeypatch, tmp_path: Path) -> None:
    import numba

    monkeypatch.setattr(numba.config, "CACHE_DIR", numba.config.CACHE_DIR)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert configure_numba_cache() == tmp_path / "mine"


def test_an_unusable_cache_dir_is_not_an_error(monkeypatch, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv(ENV_CACHE_DIR, str(blocker))  # a file: mkdir fails beneath it
    assert configure_numba_cache() is None


@pytest.mark.parametrize("form", ["bare", "called", "signature"])
def test_njit_defaults_to_cache_true_in_every_decorator_form(form: str) -> None:
    calls: list[tuple[tuple, dict]] = []

    def fake_njit(*args, **kwargs):
        calls.append((args, kwargs))
        return lambda function: function

    njit = cache_dir_module._caching(fake_njit)

    def kernel(x):
        return x

    if form == "bare":
        assert njit(kernel) is kernel
        assert calls == [((), {"cache": True})]
    elif form == "called":
        njit(fastmath=True)(kernel)
        assert calls == [((), {"fastmath": True, "cache": True})]
    else:
        njit("f8(f8)", cache=False)
        assert calls == [(("f8(f8)",), {"cache": False})]

"""Compiled kernels on demand: Numba is imported, and machine code compiled or loaded from its
cache, only when a caller asks for compiled code; otherwise a kernel runs as the plain Python
function it is written as.

Why: importing Numba (~0.5 s) and loading the cached machine code of the kernels (~0.6 s) cost
more than a whole small job. A one-row ``sw-nlp classify`` should start and answer in well
under a second, and every kernel is plain Python that Numba happens to compile, so for a few
rows the interpreter runs it and gives the same numbers. Large chunks, where compiled loops
pay for themselves many times over, ask for compiled code (``compiled``).

The kernel modules decorate with ``kernel(...)`` instead of ``numba.njit(...)``, with the same
options. Kernels call each other by their module-level names; each mode runs a copy of the
function whose globals name its callees' copies of the same mode (the module's own globals
stay as they are): Numba sees the compiled callees, and plain Python calls the plain ones
directly. Numba's on-disk cache (``cache=True``) works as before: its index is keyed by
the function's file, name and bytecode, which the copy shares.
"""

from __future__ import annotations

import contextvars
import functools
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

# Whether kernels called in this context run compiled (the default) or as plain Python. A
# context variable, so that threads (each starts with the default) and callers do not mix.
_COMPILED: contextvars.ContextVar[bool] = contextvars.ContextVar("sw_nlp_compiled", default=True)
_LOCK = threading.RLock()  # one thread builds a kernel's dispatcher (and its callees') at a time


class Kernel:
    """A function Numba can compile, called as plain Python or compiled depending on the
    caller's context (see ``compiled``). ``py_func`` is the function itself."""

    def __init__(self, func: Callable[..., Any], options: dict[str, Any]) -> None:
        functools.update_wrapper(self, func)
        self.py_func = func
        self.options = options
        self._dispatcher: Any = None
        self._plain: Callable[..., Any] | None = None

    def __call__(self, *args: Any) -> Any:
        if _COMPILED.get():
            return self.dispatcher(*args)
        # Compiled integer arithmetic wraps silently (the hashes rely on it); NumPy scalars
        # wrap the same way but warn, so the plain function runs with overflow ignored.
        with np.errstate(over="ignore"):
            return self.plain(*args)

    @property
    def dispatcher(self) -> Any:
        """The Numba dispatcher of this kernel (imports Numba; compiles, or loads the cached
        machine code, on the first call for each argument types)."""
        if self._dispatcher is None:
            with _LOCK:
                if self._dispatcher is None:
                    _import_numba()
                    from numba import njit

                    self._dispatcher = njit(**self.options)(self._copy(lambda k: k.dispatcher))
        return self._dispatcher

    @property
    def plain(self) -> Callable[..., Any]:
        """The function calling its callees' plain functions directly: a call per byte or per
        key through ``__call__`` (context look-up, error state) cost more than the work."""
        if self._plain is None:
            with _LOCK:
                if self._plain is None:
                    self._plain = self._copy(lambda k: k.plain)
        return self._plain

    def _copy(self, callee: Callable[[Kernel], Any]) -> Callable[..., Any]:
        """A copy of the function whose globals name ``callee(k)`` for each kernel ``k`` it
        calls (the module's own globals are left as they are)."""
        func = self.py_func
        names = dict(func.__globals__)
        for name in func.__code__.co_names:  # the globals it reads: its callees among them
            value = names.get(name)
            if isinstance(value, Kernel):
                names[name] = callee(value)
        copy = types.FunctionType(
            func.__code__, names, func.__name__, func.__defaults__, func.__closure__
        )
        copy.__qualname__ = func.__qualname__
        copy.__doc__ = func.__doc__
        copy.__kwdefaults__ = func.__kwdefaults__
        copy.__annotations__ = func.__annotations__
        return copy

    def __repr__(self) -> str:
        return f"<kernel {self.__module__}.{self.__qualname__}>"


def _import_numba() -> None:
    """Import Numba's compiler without the SciPy imports that buy these kernels nothing.

    ``import numba`` imports SciPy only to check its version (about 16 ms with the modules it
    pulls in); and in Numba releases whose ``numba.np.arraymath`` asks
    ``scipy.linalg.cython_blas`` whether BLAS is there, the CPU target's start loads all of
    ``scipy.linalg`` (0.2 s on an idle core, up to 1 s on a busy one) for a flag that only
    chooses how ``np.correlate``/``np.convolve`` sum inner products. The kernels use neither
    (Numba's linear algebra, ``np.dot`` and ``np.linalg``, imports SciPy itself when one is
    compiled). So while Numba is first imported, SciPy (or, if SciPy is already loaded, its
    BLAS module) is marked absent, and unmarked afterwards: anything that imports SciPy later
    in the process gets it as usual. Done under the kernels' lock, before any thread
    compiles."""
    import sys

    blas = "scipy.linalg.cython_blas"
    if "numba.np.arraymath" in sys.modules or blas in sys.modules:
        return
    absent = blas if "scipy" in sys.modules else "scipy"
    sys.modules[absent] = None  # type: ignore[assignment]  # the import system's "absent"
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        if sys.modules.get(absent, 0) is None:
            del sys.modules[absent]


def kernel(**options: Any) -> Callable[[Callable[..., Any]], Kernel]:
    """``numba.njit(**options)``, compiled only when called in a compiled context."""

    def wrap(func: Callable[..., Any]) -> Kernel:
        return Kernel(func, options)

    return wrap


def running_compiled() -> bool:
    """Whether kernels called here run compiled: callers with a cheaper way for small chunks
    than a heavy library's (``utf8_chunk``: Python rather than Arrow) follow the same choice."""
    return _COMPILED.get()


@contextmanager
def compiled(wanted: bool) -> Iterator[None]:
    """Kernels called inside run compiled if ``wanted``, else as plain Python (same results).
    Outside any such block they run compiled: code that does not choose gets today's speed."""
    token = _COMPILED.set(wanted)
    try:
        yield
    finally:
        _COMPILED.reset(token)

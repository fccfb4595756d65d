"""Micro benchmark of the fast path's model step, in one process: ``FastPath.analyse`` on
corpus-like rows, in chunks as ``sw-nlp classify`` sends them, µs per row.

Run on demand, not in the test suite:

    python benchmarks/bench_fast_path.py                       # 20k rows, best of 5
    python benchmarks/bench_fast_path.py --rows 50000 --new-words 0.05

End-to-end figures (start-up, reading, masking, writing) are ``bench_classify.py``'s; this
one isolates the per-row cost of the step that turns texts into probabilities and
explanations, so that a change to it shows without the noise of a whole run. Each repetition
starts from an empty token cache, as a fresh ``classify`` process does (so the new-piece work
on the first chunks is counted); "warm" repeats the run with the cache already filled.
Besides the whole ``analyse`` call, it times its two halves: ``chunk`` (cleaning, pieces and
tokens, word features) and ``score`` (the compiled scoring pass and the explanations' terms).
Times are the process's CPU time, best of the repetitions: on a machine shared with other
work, wall time also counts the others' turns on the core.

Last, ``pieces``: the compiled look-up of every whitespace piece in the warm token cache
(``piece_kernels.split_pieces``) beside its peer, a plain compiled loop that only splits the
same bytes at whitespace. The look-up should cost a small multiple of the bare split: at
be93654 it cost 8.7× (the loop carried the code for new pieces, whose arrays it grows), and
1.7× once that moved to a pass of its own (1cd8c6f).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_classify import corpus_rows, make_texts  # noqa: E402

CHUNK = 2000  # classify_file's default chunk size


def _best(repeat: int, run: Callable[[], float]) -> float:
    return min(run() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--new-words", type=float, nargs="*", default=[0.0, 0.05])
    parser.add_argument("--model", default=str(REPO / "models" / "default"))
    args = parser.parse_args()

    from sw_nlp.bundle import load_data
    from sw_nlp.fast import FastPath

    data, _ = load_data(Path(args.model))
    fast = FastPath(data)
    rows = corpus_rows()
    print(f"{args.rows} rows in chunks of {CHUNK}, best of {args.repeat}, µs per row")
    print(f"{'new words':>9} {'k':>2} {'cold':>8} {'warm':>8} {'chunk':>8} {'score':>8}")
    for new_words in args.new_words:
        texts = make_texts(rows, args.rows, new_words=new_words)
        chunks = [texts[i : i + CHUNK] for i in range(0, len(texts), CHUNK)]
        fast.analyse(chunks[0], k=3)  # compile or load the kernels outside the timing
        for k in (0, 3):

            def whole(reset: bool, k: int = k, chunks: list[list[str]] = chunks) -> float:
                if reset:
                    fast._cache.reset()
                start = time.process_time()
                for chunk in chunks:
                    fast.analyse(chunk, k=k)
                return time.process_time() - start

            cold = _best(args.repeat, lambda: whole(True))
            warm = _best(args.repeat, lambda: whole(False))
            prepared = [fast._chunk(chunk) for chunk in chunks]

            def chunking(chunks: list[list[str]] = chunks) -> float:
                start = time.process_time()
                for chunk in chunks:
                    fast._chunk(chunk)
                return time.process_time() - start

            def scoring(
                k: int = k, chunks: list[list[str]] = chunks, prepared: list = prepared
            ) -> float:
                # analyse minus its _chunk call: the scoring pass and the explanations' terms
                queue = iter(prepared)
                fast._chunk = lambda texts: next(queue)  # type: ignore[method-assign]
                try:
                    start = time.process_time()
                    for chunk in chunks:
                        fast.analyse(chunk, k=k)
                    return time.process_time() - start
                finally:
                    del fast._chunk

            chunk_s = _best(args.repeat, chunking)
            score_s = _best(args.repeat, scoring)
            per_row = [1e6 * s / args.rows for s in (cold, warm, chunk_s, score_s)]
            print(f"{new_words:>9.2f} {k:>2} " + " ".join(f"{v:>8.1f}" for v in per_row))
        _pieces(fast, chunks, args.repeat, args.rows)


def _pieces(fast: object, chunks: list[list[str]], repeat: int, rows: int) -> None:
    """``split_pieces`` on the warm cache against a bare compiled split of the same bytes."""
    import numba
    import numpy as np

    from sw_nlp.piece_kernels import padded_words, split_pieces
    from sw_nlp.utf8_chunk import clean_chunk

    @numba.njit(cache=False, nogil=True)
    def bare_split(data: np.ndarray, offsets: np.ndarray) -> int:
        pieces = 0
        for r in range(len(offsets) - 1):
            i, stop = offsets[r], offsets[r + 1]
            while i < stop:
                while i < stop and (data[i] == 32 or 9 <= data[i] <= 13):
                    i += 1
                if i == stop:
                    break
                while i < stop and not (data[i] == 32 or 9 <= data[i] <= 13):
                    i += 1
                pieces += 1
        return pieces

    cache = fast._cache  # type: ignore[attr-defined]
    cleaned = [clean_chunk(chunk, True) for chunk in chunks]
    words = [padded_words(data) for data, _ in cleaned]
    keys = cache._piece_keys[1:]
    bare_split(*cleaned[0])

    def look_up() -> float:
        start = time.process_time()
        for (data, offsets), padded in zip(cleaned, words, strict=True):
            split_pieces(data, padded, offsets, cache._piece_slots, *keys)
        return time.process_time() - start

    def bare() -> float:
        start = time.process_time()
        for data, offsets in cleaned:
            bare_split(data, offsets)
        return time.process_time() - start

    found, plain = _best(repeat, look_up), _best(repeat, bare)
    print(
        f"pieces, µs per row: split_pieces (warm cache) {1e6 * found / rows:.2f}, "
        f"bare split {1e6 * plain / rows:.2f} ({found / plain:.1f}×)"
    )


if __name__ == "__main__":
    main()

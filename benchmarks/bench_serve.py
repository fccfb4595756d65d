"""Load test of ``sw-nlp serve``'s API on loopback: N concurrent clients, a fixed count.

Run on demand, not in the test suite:

    python benchmarks/bench_serve.py                          # 4 clients, 2,000 requests
    python benchmarks/bench_serve.py --clients 16 --requests 4000 --texts 20

It starts ``sw-nlp serve`` (the shipped model) on a free port of 127.0.0.1 in its own
process, waits for ``/healthz``, then ``--clients`` threads, each with one keep-alive
connection, send ``POST /api/v1/classify`` with ``--texts`` corpus texts per request
(chosen at random, fixed seed) until ``--requests`` have been answered in all. It prints
requests/s, texts/s and the latency percentiles (p50, p95, p99) over those requests, and
counts any answer that is not 200 as an error. Only loopback: it never connects elsewhere.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "data" / "corpus" / "cases.csv"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(port: int, log: Path) -> subprocess.Popen:
    from sw_nlp.bundle import default_bundle_dir

    handle = open(log, "wb")  # noqa: SIM115 (kept open for the server's life)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sw_nlp",
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--model",
            str(default_bundle_dir()),
            "--corrections",
            str(log.parent / "c.csv"),
        ],
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    end = time.monotonic() + 120
    while time.monotonic() < end:
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the server did not start; see {log}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(port: int, clients: int, requests: int, bodies: list[bytes]) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    left = [requests]

    def client(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        connection = http.client.HTTPConnection(HOST, port, timeout=60)
        headers = {"Content-Type": "application/json"}
        while True:
            with lock:
                if left[0] == 0:
                    break
                left[0] -= 1
            body = rng.choice(bodies)
            started = time.perf_counter()
            connection.request("POST", "/api/v1/classify", body=body, headers=headers)
            answer = connection.getresponse()
            answer.read()
            took = time.perf_counter() - started
            with lock:
                latencies.append(took)
                errors += answer.status != 200
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": seconds,
        "rps": len(latencies) / seconds,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=2000, help="requests in all")
    parser.add_argument("--texts", type=int, default=1, help="texts per request")
    parser.add_argument("--warmup", type=int, default=50, help="requests before timing")
    args = parser.parse_args()
    if min(args.clients, args.requests, args.texts) < 1 or args.requests > 1_000_000:
        parser.error("clients, requests and texts must be at least 1 (requests at most 1e6)")

    with open(CORPUS, encoding="utf-8", newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    rng = random.Random(0)
    bodies = [json.dumps({"texts": rng.sample(texts, args.texts)}).encode() for _ in range(200)]
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
        port = free_port()
        server = start_server(port, Path(folder) / "server.log")
        try:
            run(port, 1, args.warmup, bodies)
            result = run(port, args.clients, args.requests, bodies)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(
        f"{args.clients} clients, {result['requests']} requests of {args.texts} text(s): "
        f"{result['rps']:,.0f} req/s, {result['rps'] * args.texts:,.0f} texts/s, "
        f"p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, "
        f"p99 {result['p99_ms']:.1f} ms, errors {result['errors']}, {result['seconds']:.1f} s"
    )


if __name__ == "__main__":
    main()

"""UPRN gazetteer benchmark (standalone: ``python benchmarks/bench_gazetteer.py [--rows N]``).

(a) Import: a SYNTHETIC OS Open UPRN-format CSV (``UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,
    LONGITUDE``; 41,000,000 rows by default, ~2 GB, generated once into benchmarks/out/ with
    numpy + Arrow's CSV writer) imported into a gazetteer store.  Rows are written in random
    order (the external sort does its full work), with 0.01% blank UPRNs and 0.01% repeated
    UPRNs.  Target >= 1,000,000 rows/s in bounded memory.  Baseline in the same run:
    ``pandas.read_csv`` of the whole file (UPRN, X, Y columns only) followed by a sort.
(b) Lookup: ``Gazetteer.lookup`` of 1,000,000 UPRNs (90% present, 10% absent), target well
    under 1 s.  Baseline: a hash join in pandas (``Index.get_indexer`` on the frame read in (a),
    index build included).
(c) Join of 1,000,000 records: ``import_records`` of a synthetic records CSV (UPRN + 3 other
    columns, no personal identifiers) against the store, end to end (read, validate, look up,
    build the point layer).

Each step runs in its own process so its peak memory (``resource.getrusage`` ru_maxrss) is its
own.  Figures are printed; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
CHUNK = 2_000_000


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB


def generate(path: Path, rows: int, seed: int = 0) -> dict:
    """Write the synthetic CSV; returns {'rows', 'seconds', 'bytes'}.  Ground truth UPRNs are
    sorted, unique, 1..~1e12 spaced by random gaps; the file holds them in random order."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    gaps = rng.integers(1, 2 * (10**12 // 10 // rows) + 1, size=rows)  # mean gap ~ 1e11 / rows
    uprn = np.cumsum(gaps).astype(np.int64)
    order = rng.permutation(rows)
    n_blank = rows // 10_000
    n_dup = rows // 10_000
    schema = pa.schema([("UPRN", pa.int64()), ("X_COORDINATE", pa.float64()), ("Y_COORDINATE", pa.float64()),
                        ("LATITUDE", pa.float64()), ("LONGITUDE", pa.float64())])
    tmp = path.with_suffix(".partial")
    with open(tmp, "wb") as sink:
        sink.write(b"UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE\n")  # unquoted, as OS writes it
        writer = pacsv.CSVWriter(sink, schema, write_options=pacsv.WriteOptions(include_header=False))
        for first in range(0, rows, CHUNK):
            idx = order[first:first + CHUNK]
            u = uprn[idx]
            # coordinates are a function of the UPRN, so lookups can be checked without the file
            x, y = expected_xy(u)
            lat = np.round(49.9 + y / 1_300_000 * 10.9, 7)
            lon = np.round(-7.6 + x / 700_000 * 9.4, 7)
            blank = rng.random(len(u)) < n_blank / rows  # written as an empty field
            cols = [pa.array(u, mask=blank), pa.array(x), pa.array(y), pa.array(lat), pa.array(lon)]
            writer.write_table(pa.Table.from_arrays(cols, schema=schema))
        dup = uprn[rng.choice(rows, size=n_dup, replace=False)]
        dx, dy = expected_xy(dup)
        writer.write_table(pa.Table.from_arrays(
            [pa.array(dup), pa.array(dx + 1), pa.array(dy + 1), pa.array(np.zeros(n_dup)), pa.array(np.zeros(n_dup))],
            schema=schema))
        writer.close()
    tmp.replace(path)
    (path.with_suffix(".json")).write_text(json.dumps({"rows": rows + n_dup, "seed": seed}))
    return {"rows": rows + n_dup, "seconds": time.perf_counter() - started, "bytes": path.stat().st_size}


def expected_xy(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.round((u * 7919 % 70_000_000) / 100.0, 2)
    y = np.round((u * 104729 % 130_000_000) / 100.0, 2)
    return x, y


# --- steps, each in a child process ---------------------------------------------------------


def step_import(csv_path: str, store: str) -> dict:
    from gis_desk.io.gazetteer import import_gazetteer
    from gis_desk.processing.feedback import Feedback

    started = time.perf_counter()
    stats = import_gazetteer(csv_path, store, Feedback())
    seconds = time.perf_counter() - started
    return {"rows": stats.rows, "stored": stats.stored, "duplicates": stats.duplicates,
            "invalid": stats.invalid_uprn, "seconds": seconds, "rows_per_s": stats.rows / seconds,
            "peak_mb": _peak_mb()}


def _draw_queries(stored: np.ndarray, n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    present = stored[rng.integers(0, len(stored), size=n - n // 10)]
    absent = stored.max() + 1 + rng.integers(0, 10**9, size=n // 10)
    q = np.concatenate([present, absent])
    rng.shuffle(q)
    return q


def step_lookup(store: str, n: int) -> dict:
    from gis_desk.io.gazetteer import Gazetteer

    started = time.perf_counter()
    gaz = Gazetteer.open(store)
    open_s = time.perf_counter() - started
    queries = _draw_queries(np.asarray(gaz.uprns[:: max(1, len(gaz) // 5_000_000)]), n)
    timings = []
    for _ in range(3):
        t = time.perf_counter()
        found, x, y = gaz.lookup(queries)
        timings.append(time.perf_counter() - t)
    ex, ey = expected_xy(queries[found])
    correct = bool(np.allclose(x[found], ex) and np.allclose(y[found], ey))
    return {"open_s": open_s, "first_s": timings[0], "best_s": min(timings), "found": int(found.sum()),
            "queries": n, "correct": correct, "peak_mb": _peak_mb()}


def step_baseline(csv_path: str, store: str, n: int) -> dict:
    import pandas as pd

    from gis_desk.io.gazetteer import Gazetteer

    gaz = Gazetteer.open(store)
    queries = _draw_queries(np.asarray(gaz.uprns[:: max(1, len(gaz) // 5_000_000)]), n)
    started = time.perf_counter()
    frame = pd.read_csv(csv_path, usecols=["UPRN", "X_COORDINATE", "Y_COORDINATE"],
                        dtype={"UPRN": "Int64", "X_COORDINATE": "float64", "Y_COORDINATE": "float64"})
    read_s = time.perf_counter() - started
    frame = frame.dropna(subset=["UPRN"]).sort_values("UPRN", kind="stable").drop_duplicates("UPRN")
    import_s = time.perf_counter() - started
    t = time.perf_counter()
    index = pd.Index(frame["UPRN"].to_numpy(dtype=np.int64))
    pos = index.get_indexer(queries)
    found = pos >= 0
    _x = frame["X_COORDINATE"].to_numpy()[pos[found]]
    join_s = time.perf_counter() - t
    return {"rows": int(len(frame)), "read_s": read_s, "import_s": import_s, "join_s": join_s,
            "found": int(found.sum()), "peak_mb": _peak_mb()}


def step_records(store: str, n: int, folder: str) -> dict:
    import pandas as pd

    from gis_desk.io.gazetteer import Gazetteer
    from gis_desk.io.records import import_records

    gaz = Gazetteer.open(store)
    queries = _draw_queries(np.asarray(gaz.uprns[:: max(1, len(gaz) // 5_000_000)]), n, seed=2)
    path = Path(folder) / f"records_{n}.csv"
    rng = np.random.default_rng(3)
    pd.DataFrame({"case_id": np.arange(n), "UPRN": queries, "service": rng.choice(["home care", "meals", "day"], n),
                  "hours": rng.integers(1, 40, n)}).to_csv(path, index=False)
    started = time.perf_counter()
    dataset, report = import_records(path, gaz, pseudonymise=False)
    seconds = time.perf_counter() - started
    return {"rows": report.total_rows, "matched": report.matched, "unmatched": report.unmatched,
            "seconds": seconds, "peak_mb": _peak_mb()}


def _child(name: str, *args) -> dict:
    out = subprocess.run([sys.executable, __file__, "--step", name, *map(str, args)], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"step {name} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=41_000_000)
    parser.add_argument("--queries", type=int, default=1_000_000)
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        name, *rest = args.step
        result = {"import": lambda: step_import(*rest),
                  "lookup": lambda: step_lookup(rest[0], int(rest[1])),
                  "baseline": lambda: step_baseline(rest[0], rest[1], int(rest[2])),
                  "records": lambda: step_records(rest[0], int(rest[1]), rest[2])}[name]()
        print(json.dumps(result))
        return

    OUT.mkdir(parents=True, exist_ok=True)
    csv_path = OUT / f"open_uprn_synthetic_{args.rows}.csv"
    store = OUT / f"open_uprn_synthetic_{args.rows}.uprn"
    if not csv_path.exists():
        print(f"Generating {csv_path} ...", flush=True)
        gen = generate(csv_path, args.rows)
        print(f"  {gen['rows']:,} rows, {gen['bytes'] / 1e9:.2f} GB in {gen['seconds']:.1f} s", flush=True)
    size_gb = csv_path.stat().st_size / 1e9
    print(f"Input: {csv_path.name} ({size_gb:.2f} GB)")

    imp = _child("import", csv_path, store)
    print(f"(a) import_gazetteer: {imp['rows']:,} rows in {imp['seconds']:.1f} s = {imp['rows_per_s']:,.0f} rows/s, "
          f"peak RSS {imp['peak_mb']:,.0f} MB; stored {imp['stored']:,}, duplicates {imp['duplicates']:,}, "
          f"blank/invalid {imp['invalid']:,}", flush=True)
    look = _child("lookup", store, args.queries)
    print(f"(b) Gazetteer.lookup of {look['queries']:,} UPRNs: first {look['first_s'] * 1000:.0f} ms, "
          f"best of 3 {look['best_s'] * 1000:.0f} ms (open {look['open_s'] * 1000:.1f} ms); found "
          f"{look['found']:,}; coordinates correct: {look['correct']}; peak RSS {look['peak_mb']:,.0f} MB",
          flush=True)
    rec = _child("records", store, args.queries, OUT)
    print(f"(c) import_records of {rec['rows']:,} records: {rec['seconds']:.1f} s (matched {rec['matched']:,}, "
          f"unmatched {rec['unmatched']:,}); peak RSS {rec['peak_mb']:,.0f} MB", flush=True)
    base = _child("baseline", csv_path, store, args.queries)
    base_rate = imp["rows"] / base["import_s"]
    print(f"Baseline pandas.read_csv whole file + sort: {base['import_s']:.1f} s (read {base['read_s']:.1f} s) "
          f"= {base_rate:,.0f} rows/s, peak RSS {base['peak_mb']:,.0f} MB; hash join (pandas Index) of "
          f"{args.queries:,}: {base['join_s'] * 1000:.0f} ms")
    read_rate = imp["rows"] / base["read_s"]
    print(f"Ratios: import speed {imp['rows_per_s'] / base_rate:.2f}x the read+sort baseline "
          f"({imp['rows_per_s'] / read_rate:.2f}x a bare pandas.read_csv, which neither sorts, validates, "
          f"de-duplicates nor stores)")
    print(f"        import peak memory {imp['peak_mb'] / base['peak_mb']:.2f}x the baseline's; "
          f"lookup {base['join_s'] / look['best_s']:.1f}x "
          f"faster than the pandas hash join (which also needs the whole table in memory)")


if __name__ == "__main__":
    main()

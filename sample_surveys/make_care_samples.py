"""Write the SYNTHETIC care-records sample for Trafford, deterministically (fixed seed).

    .venv/bin/python sample_surveys/make_care_samples.py [--out sample_surveys/trafford/synthetic]
                                                         [--lsoa sample_surveys/trafford/lsoa11_imd2019.gpkg]
                                                         [--store [FOLDER]]

Nothing here describes a real person or a real address.  Written into ``--out``:

``SYNTHETIC_trafford_uprn_gazetteer.csv``
    A made-up UPRN gazetteer in the OS Open UPRN layout (``UPRN,X_COORDINATE,Y_COORDINATE,
    LATITUDE,LONGITUDE``; British National Grid metres to 0.1 m, WGS84 degrees to 6 decimals),
    sorted by UPRN.  The points lie inside the REAL 2011 LSOAs of Trafford (the polygons of
    ``lsoa11_imd2019.gpkg``), uniformly within each, with about ``ADDRESSES_MEAN`` addresses
    per LSOA.  LSOAs were drawn to hold similar numbers of residents (about 1,500), so equal
    address counts make the density of addresses follow the density of population.  The
    UPRNs are 12 digits starting 9990 and are NOT real UPRNs.
``SYNTHETIC_care_packages.csv``
    Made-up social-care package records keyed by UPRN: record_id, CHI, client_name,
    date_of_birth, package_type, weekly_hours, start_date, UPRN.  Records are more frequent in
    the more deprived LSOAs (relative rate ``exp(DEPRIVATION_GRADIENT * (10 - IMD decile))``)
    so heat maps and decile summaries show a real pattern.  Planted problems: UPRNs blank,
    text, out of range, spreadsheet-damaged (recoverable ``999012345678.0`` and lossy
    ``9.99012E+11``), valid but not in the gazetteer, and repeated; CHI numbers with a bad check
    digit, a bad date, a lost leading zero, or blank.  CHI numbers are built by the published
    rule (DDMMYY date of birth, 9th digit odd for men, modulus-11 check digit) from the made-up
    dates of birth; any resemblance to a real CHI number is chance.
``SYNTHETIC_care_packages_truth.json``
    What was planted: the expected match report counts, CHI statuses, addresses per LSOA and
    located records per IMD decile, for tests to compare with what GIS Desk reports.

``--store`` also imports the gazetteer into a gazetteer store folder, by default
``.cache/samples/SYNTHETIC_trafford.uprn`` at the top of the checkout (ignored by git): it is
binary, rebuilt in well under a second (``build_store``), and kept out of ``sample_surveys/``,
whose committed files must stay under 8 MB in all.

Re-running gives the same bytes on the same library versions (LATITUDE/LONGITUDE come from
PROJ and could move in the last digit if PROJ's transformation for EPSG:27700 changes).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "trafford" / "synthetic"
DEFAULT_LSOA = HERE / "trafford" / "lsoa11_imd2019.gpkg"
LSOA_LAYER = "lsoa11_imd2019"

GAZETTEER_FILE = "SYNTHETIC_trafford_uprn_gazetteer.csv"
CARE_FILE = "SYNTHETIC_care_packages.csv"
TRUTH_FILE = "SYNTHETIC_care_packages_truth.json"
DEFAULT_STORE = HERE.parent / ".cache" / "samples" / "SYNTHETIC_trafford.uprn"
FILES = (GAZETTEER_FILE, CARE_FILE, TRUTH_FILE)

SEED = 20240603
ADDRESSES_MEAN, ADDRESSES_SD, ADDRESSES_MIN, ADDRESSES_MAX = 560, 80, 360, 800
UPRN_BASE = 999_000_000_000  # synthetic UPRNs: 9990 followed by 8 digits
UPRN_SPAN = 100_000_000
DEPRIVATION_GRADIENT = 0.22  # decile 1 has exp(0.22 * 9) = 7.2 times the rate of decile 10
REFERENCE_DATE = date(2024, 12, 31)

# Located records and the problems planted among the care records (rows).
LOCATED_RECORDS = 2800  # distinct addresses with a package, before duplicates
DUPLICATED_UPRNS = 40  # addresses that get a second row (same UPRN)
RECOVERED_UPRNS = 25  # located rows whose UPRN is written '999012345678.0' (lossless)
LOSSY_UPRNS = 20  # rows whose UPRN is written '9.99012E+11' (cannot be recovered)
UNMATCHED_UPRNS = 60  # valid 12-digit UPRNs that are not in the gazetteer
BLANK_UPRNS = {"": 30, "N/A": 5}
TEXT_UPRNS = ("TBC", "unknown", "no fixed abode", "see notes", "awaiting address")  # 3 rows each
OUT_OF_RANGE_UPRNS = ("0", "-1", "1000000000000", "0", "-1")
BAD_CHECK_DIGIT_CHI = 20
BAD_DATE_CHI = 10
LOST_LEADING_ZERO_CHI = 15
BLANK_CHI = 8

PACKAGES = (  # (type, share, weekly hours low, high); Telecare has no hours
    ("Home care", 0.45, 1.0, 30.0),
    ("Reablement", 0.10, 5.0, 15.0),
    ("Day care", 0.12, 6.0, 18.0),
    ("Telecare", 0.13, 0.0, 0.0),
    ("Direct payment", 0.12, 2.0, 30.0),
    ("Respite", 0.08, 7.0, 24.0),
)
CARE_COLUMNS = ("record_id", "CHI", "client_name", "date_of_birth", "package_type", "weekly_hours",
                "start_date", "UPRN")
CHI_WEIGHTS = np.arange(10, 1, -1)  # 10, 9, ..., 2 for digits 1..9


# --- geography -----------------------------------------------------------------------------


def read_lsoas(path: Path = DEFAULT_LSOA):
    """The LSOAs sorted by code, geometry made valid (two source rings touch themselves)."""
    import geopandas as gpd
    import shapely

    frame = gpd.read_file(path, layer=LSOA_LAYER).sort_values("LSOA11CD").reset_index(drop=True)
    frame["geometry"] = shapely.make_valid(frame.geometry.values)
    return frame


def _points_in(geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points uniform in ``geometry``, rounded to 0.1 m, every rounded point inside it."""
    import shapely

    shapely.prepare(geometry)
    xmin, ymin, xmax, ymax = geometry.bounds
    found = np.empty((0, 2))
    while len(found) < n:
        batch = np.round(rng.uniform((xmin, ymin), (xmax, ymax), size=(2 * n, 2)), 1)
        found = np.vstack([found, batch[shapely.contains_xy(geometry, batch[:, 0], batch[:, 1])]])
    return found[:n]


def make_gazetteer(lsoas, rng: np.random.Generator):
    """Addresses: a DataFrame (UPRN, X, Y, lsoa index) sorted by UPRN, and counts per LSOA."""
    import pandas as pd

    counts = np.clip(np.round(rng.normal(ADDRESSES_MEAN, ADDRESSES_SD, len(lsoas))),
                     ADDRESSES_MIN, ADDRESSES_MAX).astype(int)
    xy = np.vstack([_points_in(geom, n, rng) for geom, n in zip(lsoas.geometry, counts)])
    lsoa = np.repeat(np.arange(len(lsoas)), counts)
    uprns = UPRN_BASE + rng.choice(UPRN_SPAN, size=len(xy), replace=False)
    frame = pd.DataFrame({"UPRN": uprns, "X": xy[:, 0], "Y": xy[:, 1], "lsoa": lsoa})
    return frame.sort_values("UPRN").reset_index(drop=True), counts


def gazetteer_csv(addresses) -> str:
    """The OS Open UPRN layout; WGS84 from British National Grid through PROJ."""
    from pyproj import Transformer

    lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(
        addresses["X"].to_numpy(), addresses["Y"].to_numpy())
    lines = ["UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE"]
    lines += [f"{u},{x:.1f},{y:.1f},{la:.6f},{lo:.6f}"
              for u, x, y, la, lo in zip(addresses["UPRN"], addresses["X"], addresses["Y"], lat, lon)]
    return "\n".join(lines) + "\n"


# --- people --------------------------------------------------------------------------------


def chi_check_digit(first9: str) -> int:
    """Modulus-11 check digit of the first 9 digits (11 -> 0); 10 means the number is never issued."""
    remainder = sum(int(d) * w for d, w in zip(first9, CHI_WEIGHTS)) % 11
    return 0 if remainder == 0 else 11 - remainder


def make_chi(dob: date, rng: np.random.Generator) -> str:
    """A valid CHI number for date of birth ``dob``: DDMMYY, two serial digits, a sex digit
    (odd for men, even for women) and the check digit; serials needing check digit 10 are
    skipped as the rule never issues them."""
    while True:
        first9 = f"{dob:%d%m%y}{rng.integers(0, 100):02d}{rng.integers(0, 10)}"
        check = chi_check_digit(first9)
        if check != 10:
            return first9 + str(check)


def _bad_check(chi: str) -> str:
    """``chi`` with a wrong check digit (shifted by 1..9, so never the right one)."""
    offset = 1 + int(chi[8]) % 9
    return chi[:9] + str((int(chi[9]) + offset) % 10)


def _bad_date(rng: np.random.Generator) -> str:
    """A 10-digit CHI-like number whose DDMMYY is not a date (day 32-39 or month 13-19) but
    whose check digit is right, so only the date is wrong."""
    while True:
        if rng.random() < 0.5:
            ddmm = f"{rng.integers(32, 40):02d}{rng.integers(1, 13):02d}"
        else:
            ddmm = f"{rng.integers(1, 29):02d}{rng.integers(13, 20):02d}"
        first9 = f"{ddmm}{rng.integers(20, 100):02d}{rng.integers(0, 1000):03d}"
        check = chi_check_digit(first9)
        if check != 10:
            return first9 + str(check)


def _date_of_birth(rng: np.random.Generator, early_day: bool = False) -> date:
    """Mostly older adults (age about 76 +/- 14, 18..103 on the reference date)."""
    age_days = int(np.clip(rng.normal(76, 14), 18, 103) * 365.25)
    born = REFERENCE_DATE - timedelta(days=age_days)
    if early_day:  # days 01-09: the CHI starts with 0, which a spreadsheet drops
        born = born.replace(day=int(rng.integers(1, 10)))
    return born


def _package(rng: np.random.Generator) -> tuple[str, str]:
    shares = np.array([p[1] for p in PACKAGES])
    kind, _, low, high = PACKAGES[int(rng.choice(len(PACKAGES), p=shares / shares.sum()))]
    hours = 0.0 if high == 0 else float(np.round(rng.uniform(low, high) * 2) / 2)
    return kind, f"{hours:.1f}"


def _start_date(rng: np.random.Generator) -> str:
    return (date(2018, 1, 1) + timedelta(days=int(rng.integers(0, 7 * 365)))).isoformat()


def _person(problem: str, rng: np.random.Generator) -> tuple[str, date]:
    """(CHI as written in the file, date of birth) with the CHI ``problem`` planted."""
    dob = _date_of_birth(rng, early_day=problem == "lost_leading_zero")
    chi = make_chi(dob, rng)
    if problem == "bad_check_digit":
        chi = _bad_check(chi)
    elif problem == "bad_date":
        chi = _bad_date(rng)
    elif problem == "lost_leading_zero":
        chi = chi[1:]  # born on day 01-09: the CHI starts with one 0
    elif problem == "blank":
        chi = ""
    return chi, dob


# --- records -------------------------------------------------------------------------------


def make_care_records(addresses, lsoas, rng: np.random.Generator):
    """(rows as lists of text in ``CARE_COLUMNS`` order, truth dict)."""
    deciles = lsoas["IMD_decile"].to_numpy()
    risk = np.exp(DEPRIVATION_GRADIENT * (10 - deciles[addresses["lsoa"].to_numpy()]))
    chosen = rng.choice(len(addresses), size=LOCATED_RECORDS + RECOVERED_UPRNS + LOSSY_UPRNS, replace=False,
                        p=risk / risk.sum())
    uprn_of = addresses["UPRN"].to_numpy()
    located, recovered, lossy = np.split(chosen, [LOCATED_RECORDS, LOCATED_RECORDS + RECOVERED_UPRNS])

    # (UPRN text, address index or -1, kind) per row
    rows: list[tuple[str, int, str]] = [(str(uprn_of[i]), int(i), "ok") for i in located]
    rows += [(f"{uprn_of[i]}.0", int(i), "recovered") for i in recovered]
    rows += [(f"{uprn_of[i]:.5E}", -1, "lossy") for i in lossy]  # 9.99012E+11
    for i in rng.choice(located, size=DUPLICATED_UPRNS, replace=False):
        rows.append((str(uprn_of[i]), int(i), "duplicate"))
    in_gazetteer = set(uprn_of.tolist())
    unmatched: list[int] = []
    while len(unmatched) < UNMATCHED_UPRNS:
        candidate = UPRN_BASE + int(rng.integers(0, UPRN_SPAN))
        if candidate not in in_gazetteer and candidate not in unmatched:
            unmatched.append(candidate)
    rows += [(str(u), -1, "unmatched") for u in unmatched]
    rows += [(text, -1, "blank") for text, n in BLANK_UPRNS.items() for _ in range(n)]
    rows += [(text, -1, "text") for text in TEXT_UPRNS for _ in range(3)]
    rows += [(text, -1, "out_of_range") for text in OUT_OF_RANGE_UPRNS]
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]

    # People: one per row, except that a duplicate row is the same client's second package
    # at the same address half of the time.
    n = len(rows)
    chi_problem = np.full(n, "valid", dtype=object)
    slots = rng.permutation([i for i in range(n) if rows[i][2] != "duplicate"])
    cuts = np.cumsum([BAD_CHECK_DIGIT_CHI, BAD_DATE_CHI, LOST_LEADING_ZERO_CHI, BLANK_CHI])
    for problem, part in zip(("bad_check_digit", "bad_date", "lost_leading_zero", "blank"),
                             np.split(slots[:cuts[-1]], cuts[:-1])):
        chi_problem[part] = problem
    people: dict[int, tuple[str, date]] = {}  # row -> (CHI, date of birth)
    for i, (_, _, kind) in enumerate(rows):
        if kind != "duplicate":
            people[i] = _person(chi_problem[i], rng)
    first_row = {address: i for i, (_, address, kind) in enumerate(rows) if kind == "ok"}
    for i, (_, address, kind) in enumerate(rows):
        if kind == "duplicate":
            people[i] = people[first_row[address]] if rng.random() < 0.5 else _person("valid", rng)
    out: list[list[str]] = []
    for i, (uprn_text, _, _) in enumerate(rows):
        chi, dob = people[i]
        package, hours = _package(rng)
        out.append([f"SYN-{i + 1:05d}", chi, f"SYNTHETIC Client {i + 1:05d}", dob.isoformat(), package, hours,
                    _start_date(rng), uprn_text])
    # a person's second package can make a planted bad CHI appear twice: count rows, not people
    chi_counts = _chi_counts([r[1] for r in out])
    truth = _truth(rows, addresses, lsoas, chi_counts)
    return out, truth


def _chi_counts(values: list[str]) -> dict[str, int]:
    """Rows per CHI status, by the generator's own reading of the rule (independent of GIS Desk)."""
    counts = {"valid": 0, "bad_check_digit": 0, "bad_date": 0, "lost_leading_zero": 0, "blank": 0}
    for value in values:
        if value == "":
            counts["blank"] += 1
        elif len(value) == 9:
            counts["lost_leading_zero"] += 1
        else:
            day, month, year = int(value[:2]), int(value[2:4]), int(value[4:6])
            try:
                date(2000 + year if year < 100 else year, month, day)
            except ValueError:
                counts["bad_date"] += 1
                continue
            check = chi_check_digit(value[:9])
            counts["valid" if check == int(value[9]) else "bad_check_digit"] += 1
    return counts


def _truth(rows, addresses, lsoas, chi_counts) -> dict:
    kinds = [kind for _, _, kind in rows]
    count = {k: kinds.count(k) for k in ("ok", "recovered", "lossy", "duplicate", "unmatched", "blank", "text",
                                         "out_of_range")}
    matched = count["ok"] + count["recovered"] + count["duplicate"]
    invalid_by_status = {"blank": count["blank"], "text": count["text"], "out_of_range": count["out_of_range"],
                         "lossy": count["lossy"]}
    located = [address for _, address, kind in rows if address >= 0]
    deciles = lsoas["IMD_decile"].to_numpy()[addresses["lsoa"].to_numpy()[located]]
    by_decile = {str(d): int((deciles == d).sum()) for d in range(1, 11)}
    addresses_per_decile = {str(d): int((lsoas["IMD_decile"].to_numpy()[addresses["lsoa"]] == d).sum())
                            for d in range(1, 11)}
    return {
        "SYNTHETIC": "Made-up data: no real person, no real address, no real UPRN.",
        "seed": SEED,
        "gazetteer": {
            "file": GAZETTEER_FILE, "rows": int(len(addresses)), "crs": "EPSG:27700",
            "uprn_min": int(addresses["UPRN"].min()), "uprn_max": int(addresses["UPRN"].max()),
            "addresses_per_lsoa": {code: int(n) for code, n in
                                   zip(lsoas["LSOA11CD"], np.bincount(addresses["lsoa"], minlength=len(lsoas)))},
            "addresses_per_imd_decile": addresses_per_decile,
        },
        "care_records": {
            "file": CARE_FILE, "rows": len(rows), "matched": matched, "unmatched": count["unmatched"],
            "invalid": sum(invalid_by_status.values()), "invalid_by_status": invalid_by_status,
            "recovered": count["recovered"], "duplicate_rows": 2 * count["duplicate"],
            "duplicate_uprns": count["duplicate"],
            "chi": chi_counts, "chi_invalid": sum(v for k, v in chi_counts.items() if k not in ("valid", "blank")),
            "located_by_imd_decile": by_decile,
            "deprivation_gradient": DEPRIVATION_GRADIENT,
        },
    }


def _csv(rows: list[list[str]]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CARE_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue()


# --- main ----------------------------------------------------------------------------------


def build(out: Path = DEFAULT_OUT, lsoa_path: Path = DEFAULT_LSOA) -> dict:
    """Write the three files into ``out`` (created); returns the truth dict."""
    rng = np.random.default_rng(SEED)
    lsoas = read_lsoas(lsoa_path)
    addresses, _ = make_gazetteer(lsoas, rng)
    rows, truth = make_care_records(addresses, lsoas, rng)
    out.mkdir(parents=True, exist_ok=True)
    (out / GAZETTEER_FILE).write_text(gazetteer_csv(addresses), encoding="utf-8", newline="")
    (out / CARE_FILE).write_text(_csv(rows), encoding="utf-8", newline="")
    (out / TRUTH_FILE).write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8", newline="")
    return truth


def build_store(out: Path = DEFAULT_OUT, store: Path = DEFAULT_STORE) -> Path:
    """Import the gazetteer CSV in ``out`` into the gazetteer store folder ``store`` (its
    parents created); returns ``store``."""
    from gis_desk.io.gazetteer import import_gazetteer

    import_gazetteer(out / GAZETTEER_FILE, store)
    return store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write (default: %(default)s)")
    parser.add_argument("--lsoa", type=Path, default=DEFAULT_LSOA, help="the LSOA GeoPackage (default: %(default)s)")
    parser.add_argument("--store", type=Path, nargs="?", const=DEFAULT_STORE, metavar="FOLDER",
                        help=f"also build the gazetteer store folder (default: {DEFAULT_STORE})")
    args = parser.parse_args(argv)
    truth = build(args.out, args.lsoa)
    care = truth["care_records"]
    print(f"wrote {truth['gazetteer']['rows']:,} synthetic addresses and {care['rows']:,} synthetic care records "
          f"to {args.out}")
    if args.store:
        print(f"gazetteer store: {build_store(args.out, args.store)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

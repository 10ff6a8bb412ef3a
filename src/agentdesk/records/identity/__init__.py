"""Probabilistic identity matching (Fellegi–Sunter) of person records, with an explanation for every score.

How a pair is scored
--------------------
Each field of the two records is normalised (`Person`), compared, and put in one *level* (exact, nickname,
close, different, ...). A level carries two probabilities: m = P(level | same person) and u = P(level |
different people). Its weight is log2(m / u), a Bayes factor in bits; a missing value on either side is no
evidence (weight 0). The weights are summed, the prior's log-odds added, and the sum turned into a probability:

    probability = 1 / (1 + 2 ** -(sum of weights + log2(prior / (1 - prior))))

Two corrections to plain Fellegi–Sunter, both because of households (a parent and child share phone, address
and family name, and a wrong merge across people is worse than a missed one):

* Phone, address and postal code move together (one household, one move), so they are not independent
  evidence: the strongest agreement among them counts in full and each further one at `household_overlap`
  (default 0.1); disagreements the same way. The explanation shows the counted weight.
* When the two records share a phone or an address, the question becomes "which member of this household?",
  so family name, given name, birth date, sex, e-mail and SSN are weighed with u-probabilities *among different
  people of one household* (`u_household`): a shared family name is then almost no evidence, an equal birth
  date is twins-rare rather than one-in-30,000, and a different given name or birth date decides.

Default m/u probabilities (m, u, u within a household), the prior, and why they are what they are: `model.py`.

Layout
------
* `schema`: the fields compared, the `MISSING` level, outcome and decision names.
* `normalise`: a record's fields to a `Person` (names, nicknames, phone, e-mail, address, dates, identifiers).
* `compare`: the field comparators, each returning a level name.
* `model`: `Level`, `FieldModel`, `MatchModel` and the default m/u table (`DEFAULT_MODEL`).
* `scoring`: `Matcher`, `MatchScore`, `FieldComparison`, `score_records`: weights, probability, explanation.
* `rules`: the hold rules (twins and family, generations, disagreeing identifiers): never an automatic match.
* `blocking`: the blocking passes (exact, one-typo, phonetic, place keys), chosen by the fields present.
* `fit`: the model fitted to the records being linked (u from the population, m by EM per blocking pass, the
  prior), with the name frequencies for term-frequency adjustment.
* `model_file`: a fitted model as JSON (`link --fit`, `link --model`, config `matching.model`).
* `batch`: block, compare, fit, score and decide for a whole extract (`agentdesk link`).
* `estimate`: `estimate_u`, the u side re-estimated from random pairs.

This package re-exports all of them: import from `agentdesk.records.identity`.

Nothing here logs, and explanations carry field names, levels and weights only, never values.
"""

from __future__ import annotations

from agentdesk.records.identity.batch import BatchResult, LinkedPair, link_people
from agentdesk.records.identity.blocking import (
    PASSES,
    Blocking,
    BlockingKey,
    BlockingPass,
    block,
    blocking_keys,
    candidate_pairs,
    choose_passes,
    one_typo_forms,
    soundex,
)
from agentdesk.records.identity.compare import (
    ADDRESS_CLOSE_RATIO,
    NAME_CLOSE_JW,
    compare_address,
    compare_birth_date,
    compare_exact,
    compare_family,
    compare_given,
    compare_postal,
    compare_ssn,
    compare_swapped_names,
)
from agentdesk.records.identity.estimate import estimate_u
from agentdesk.records.identity.fit import estimate_m, fit_model, name_frequencies, one_typo_chance
from agentdesk.records.identity.model import (
    DEFAULT_FIELDS,
    DEFAULT_MODEL,
    FieldModel,
    FitSummary,
    Level,
    MatchModel,
    NameFrequencies,
)
from agentdesk.records.identity.model_file import ModelFileError, load_model, model_from_document, save_model
from agentdesk.records.identity.normalise import (
    Person,
    birth_date_digits,
    given_name_forms,
    name_tokens,
    normalise_address,
    normalise_birth_date,
    normalise_e164,
    normalise_email,
    normalise_identifier,
    normalise_name,
    normalise_postal,
    normalise_sex,
    normalise_ssn,
    people_from_columns,
    person_from_fields,
    person_from_record,
)

# Private, but tests/records/test_identity.py checks it against `normalise_phone`.
from agentdesk.records.identity.normalise import _plain_nanp as _plain_nanp
from agentdesk.records.identity.rules import Hold
from agentdesk.records.identity.schema import HOUSEHOLD_FIELDS, MATCH_FIELDS, MISSING, Outcome, Verdict
from agentdesk.records.identity.scoring import FieldComparison, Levels, Matcher, MatchScore, score_records

__all__ = [
    "ADDRESS_CLOSE_RATIO",
    "DEFAULT_FIELDS",
    "DEFAULT_MODEL",
    "HOUSEHOLD_FIELDS",
    "MATCH_FIELDS",
    "MISSING",
    "NAME_CLOSE_JW",
    "PASSES",
    "BatchResult",
    "Blocking",
    "BlockingKey",
    "BlockingPass",
    "FieldComparison",
    "FieldModel",
    "FitSummary",
    "Hold",
    "Level",
    "Levels",
    "LinkedPair",
    "MatchModel",
    "MatchScore",
    "Matcher",
    "ModelFileError",
    "NameFrequencies",
    "Outcome",
    "Person",
    "Verdict",
    "birth_date_digits",
    "block",
    "blocking_keys",
    "candidate_pairs",
    "choose_passes",
    "compare_address",
    "compare_birth_date",
    "compare_exact",
    "compare_family",
    "compare_given",
    "compare_postal",
    "compare_ssn",
    "compare_swapped_names",
    "estimate_m",
    "estimate_u",
    "fit_model",
    "given_name_forms",
    "link_people",
    "load_model",
    "model_from_document",
    "name_frequencies",
    "name_tokens",
    "normalise_address",
    "normalise_birth_date",
    "normalise_e164",
    "normalise_email",
    "normalise_identifier",
    "normalise_name",
    "normalise_postal",
    "normalise_sex",
    "normalise_ssn",
    "one_typo_chance",
    "one_typo_forms",
    "people_from_columns",
    "person_from_fields",
    "person_from_record",
    "save_model",
    "score_records",
    "soundex",
]

"""Dedupe the benchmark CSV with Splink 5 (DuckDB backend), configured as Splink's
documentation recommends for UK person data (configuration "recommended"), or in
one of the other configurations tried on the way (docs/benchmarks.md lists them
with their scores).

usage: python splink_run.py IN.csv OUT_PREFIX [CONFIG]
       python splink_run.py --blocking IN.csv [CONFIG]

Writes OUT_PREFIX.pairs.csv (left,right: record ids linked at the configuration's
threshold) and OUT_PREFIX.clusters.csv (record_id,cluster) and prints the seconds
from opening the file to clusters found (read, train, predict, cluster). The
truth column person_id is dropped before Splink sees the data. With --blocking
(a separate, untimed run) it prints the pairs the configuration's prediction
blocking makes candidates and its blocking recall (share of true pairs that any
rule compares), from the truth. SPLINK_U_PAIRS overrides u's max_pairs (for
trying configurations quickly, not for the bench); SPLINK_MODEL_OUT saves the
trained model as JSON. Run in a throwaway virtual environment
(scripts/bench-linkage makes one).

The recommended configuration follows Splink's documentation and example
notebooks (the deduplication examples on synthetic historical people and FEBRL,
the topic guides on blocking, training and term frequencies), and departs from
the first thing they suggest only where that scored worse on this data (each
step measured, docs/benchmarks.md "The Splink configurations tried"):

- comparisons from the library's templates: NameComparison for the given name
  with term-frequency adjustments, DateOfBirthComparison (exact, one character
  apart, within a month, a year, ten years), exact sex and NHS number;
- family name and postcode in one comparison (family name and postcode, alike
  family name and postcode, family name with a postcode missing, family name
  with other postcodes, postcode only, alike family name, neither; term
  frequencies on the family name): a household shares both, and as two
  comparisons they counted it twice (pair precision 0.92 at 200k records);
  the address is not compared for the same reason (0.40 with it);
- blocking rules for prediction on NHS number, names, date of birth and
  postcode, pairs of columns (5.5M candidate pairs on the 1M bench file,
  12.5M on the independent population);
- the probability that two random records match from deterministic rules with
  an estimated recall (`estimate_probability_two_random_records_match`, NHS
  number or name and date of birth, recall 0.8);
- u from random sampling at `max_pairs=1e8` (its docstring: 1e8 to 1e9 for best
  results, 1e7 "often adequate whilst testing");
- m by expectation maximisation, uncapped (`max_pairs=None`, Splink's default),
  in sessions whose blocking rule leaves the trained columns free and whose
  pairs are mostly matches (given name and date of birth; date of birth and
  postcode; NHS number); sessions on date of birth alone or on the names alone
  learn a household as the match class;
- the date of birth's two last levels start at m = 1e-4: no session observes a
  true match with dates more than a year apart, and Splink then leaves the
  level at its default m (0.01), so that dates decades apart cost 4.6 bits;
- links and clusters at match probability 0.95 (the examples cluster at 0.95).
"""

import logging
import os
import sys
import time

import duckdb
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

# Prediction blocking on name, date of birth, postcode and NHS number.
PREDICTION_RULES = [
    block_on("nhs_number"),
    block_on("given_names", "family_name"),
    block_on("given_names", "dob"),
    block_on("family_name", "dob"),
    block_on("family_name", "postcode"),
    block_on("given_names", "postcode"),
    block_on("dob", "postcode"),
]
# The rules before, blocking on a year of birth and a postcode district.
FASTEST_RULES = [
    block_on("nhs_number"),
    block_on("family_name", "substr(dob, 1, 4)"),
    block_on("given_names", "dob"),
    block_on("family_name", "postcode"),
    block_on("given_names", "family_name"),
    block_on("dob", "substr(postcode, 1, 4)"),
]


def names(tf=True):
    return [
        cl.NameComparison("given_names").configure(term_frequency_adjustments=tf),
        cl.NameComparison("family_name").configure(term_frequency_adjustments=tf),
    ]


DOB = cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format="%Y-%m-%d")
# The same, with starting m values whose two last levels (more than a year apart,
# more than ten years apart) keep 1e-4 when no training pair observes them:
# Splink leaves a level that no EM session observed at its default m (0.01 here),
# which makes dates decades apart cost only 6.6 bits.
DOB_M = cl.DateOfBirthComparison(
    "dob", input_is_string=True, datetime_format="%Y-%m-%d"
).configure(m_probabilities=[0.9, 0.05, 0.02, 0.0298, 1e-4, 1e-4])


def household():
    """Family name and postcode in one comparison: a household shares both, so
    counted as two independent comparisons they count the household twice
    (Splink's guidance for correlated columns: one comparison over both, as
    ForenameSurnameComparison does for a name's parts)."""
    family, postcode = "family_name", "postcode"
    return cl.CustomComparison(
        output_column_name="family_postcode",
        comparison_levels=[
            cll.And(cll.NullLevel(family), cll.NullLevel(postcode)),
            cll.And(cll.ExactMatchLevel(family), cll.ExactMatchLevel(postcode)).configure(
                tf_adjustment_column=family, label_for_charts="Family name and postcode"
            ),
            cll.And(
                cll.JaroWinklerLevel(family, 0.88), cll.ExactMatchLevel(postcode)
            ).configure(label_for_charts="Family name alike, same postcode"),
            cll.And(cll.ExactMatchLevel(family), cll.NullLevel(postcode)).configure(
                tf_adjustment_column=family, label_for_charts="Family name, a postcode missing"
            ),
            cll.ExactMatchLevel(family).configure(
                tf_adjustment_column=family, label_for_charts="Family name, other postcodes"
            ),
            cll.ExactMatchLevel(postcode).configure(label_for_charts="Postcode only"),
            cll.JaroWinklerLevel(family, 0.88).configure(label_for_charts="Family name alike"),
            cll.ElseLevel(),
        ],
    )


def comparisons(address, dob=DOB):
    out = names() + [dob, cl.ExactMatch("sex"), cl.PostcodeComparison("postcode")]
    if address:
        out.append(cl.JaroWinklerAtThresholds("address", [0.95, 0.88]))
    out.append(cl.ExactMatch("nhs_number"))
    return out


# name -> (comparisons, prediction rules, prior rules, u max_pairs,
#          EM sessions [(rule, max_pairs)], threshold).
# docs/benchmarks.md has each one's scores ("The Splink configurations tried").
PRIOR_RULES = [block_on("nhs_number"), block_on("given_names", "family_name", "dob")]
# EM sessions whose pairs are mostly true matches and leave the trained columns
# free: given name and date of birth (trains family name, postcode, sex, NHS
# number), date of birth and postcode (trains names, sex, NHS number), NHS
# number (trains names, date of birth, postcode, sex). Sessions on date of birth
# alone or on the names alone learn the household (twins, a parent and child of
# one name) as the match class.
TIGHT_SESSIONS = [
    (block_on("given_names", "dob"), None),
    (block_on("dob", "postcode"), None),
    (block_on("nhs_number"), None),
]
DOCS_SESSIONS = [(block_on("dob"), None), (block_on("given_names", "family_name"), None)]
CONFIGS = {
    # Session 10's "fastest": EM and u capped at 5M pairs, second EM session on
    # NHS number, prediction on year of birth and postcode district.
    "fastest": (
        comparisons(address=True),
        FASTEST_RULES,
        PRIOR_RULES,
        5e6,
        [(block_on("given_names", "family_name"), 5e6), (block_on("nhs_number"), 5e6)],
        0.95,
    ),
    # The documentation's first suggestion: u from 1e8 pairs, EM uncapped on
    # date of birth, then on the names; with and without the address.
    "docs-address": (
        comparisons(address=True), PREDICTION_RULES, PRIOR_RULES, 1e8, DOCS_SESSIONS, 0.95,
    ),
    "docs-no-address": (
        comparisons(address=False), PREDICTION_RULES, PRIOR_RULES, 1e8, DOCS_SESSIONS, 0.95,
    ),
    # EM sessions on pairs that are mostly matches.
    "tight-em": (
        comparisons(address=False), PREDICTION_RULES, PRIOR_RULES, 1e8, TIGHT_SESSIONS, 0.95,
    ),
    "tight-em-address": (
        comparisons(address=True), PREDICTION_RULES, PRIOR_RULES, 1e8, TIGHT_SESSIONS, 0.95,
    ),
    # ... and dates years apart not left at Splink's default m.
    "tight-em-dobm": (
        comparisons(address=False, dob=DOB_M),
        PREDICTION_RULES,
        PRIOR_RULES,
        1e8,
        TIGHT_SESSIONS,
        0.95,
    ),
    # ... and family name with postcode as one comparison (the bench's).
    "recommended": (
        [
            cl.NameComparison("given_names").configure(term_frequency_adjustments=True),
            household(),
            DOB_M,
            cl.ExactMatch("sex"),
            cl.ExactMatch("nhs_number"),
        ],
        PREDICTION_RULES,
        PRIOR_RULES,
        1e8,
        TIGHT_SESSIONS,
        0.95,
    ),
}


def select_persons(source: str, truth: bool) -> str:
    """The records as Splink sees them; the truth column only when asked."""
    person_id = "person_id," if truth else ""
    return f"""
        select record_id, {person_id}
               nullif(lower(trim(given_names)), '') as given_names,
               nullif(lower(trim(family_name)), '') as family_name,
               nullif(trim(dob), '') as dob,
               nullif(trim(sex), '') as sex,
               case when length(replace(postcode, ' ', '')) >= 5
                    then upper(substr(replace(postcode, ' ', ''), 1, length(replace(postcode, ' ', '')) - 3)
                               || ' ' || right(replace(postcode, ' ', ''), 3))
                    else null end as postcode,
               nullif(lower(trim(address)), '') as address,
               nullif(replace(trim(nhs_number), ' ', ''), '') as nhs_number
        from read_csv('{source}', header = true, all_varchar = true)
        """


def main() -> None:
    source, prefix = sys.argv[1], sys.argv[2]
    config = sys.argv[3] if len(sys.argv) > 3 else "recommended"
    comps, rules, prior_rules, u_pairs, sessions, threshold = CONFIGS[config]
    # For trying configurations quickly: fewer u pairs (not for the bench).
    u_pairs = float(os.environ.get("SPLINK_U_PAIRS", u_pairs))
    logging.getLogger("splink").setLevel(logging.WARNING)
    started = time.perf_counter()
    con = duckdb.connect()
    # The same cleaning Sightline does inside (case, postcode spacing, NHS
    # number spacing), so both tools see comparable values.
    con.execute(f"create table persons as {select_persons(source, truth=False)}")
    db_api = DuckDBAPI(connection=con)
    df = db_api.register("persons", dataset_display_name="persons")
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_id",
        comparisons=comps,
        blocking_rules_to_generate_predictions=rules,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    linker = Linker(df, settings)
    linker.training.estimate_probability_two_random_records_match(prior_rules, recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=1)
    for rule, cap in sessions:
        linker.training.estimate_parameters_using_expectation_maximisation(rule, max_pairs=cap)
    if os.environ.get("SPLINK_MODEL_OUT"):
        linker.misc.save_model_to_json(os.environ["SPLINK_MODEL_OUT"], overwrite=True)
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold
    )
    link_seconds = time.perf_counter() - started
    con.execute(
        f"copy (select record_id_l as left, record_id_r as right from {predictions.physical_name}) "
        f"to '{prefix}.pairs.csv' (header)"
    )
    con.execute(
        f"copy (select record_id, cluster_id as cluster from {clusters.physical_name}) "
        f"to '{prefix}.clusters.csv' (header)"
    )
    print(f"read+train+predict+cluster {link_seconds:.2f}", flush=True)


def blocking(source: str, config: str) -> None:
    """What the configuration's prediction blocking compares, against the truth
    (a separate process, not timed): candidate pairs (each rule's pairs not made
    by an earlier rule, as Splink de-duplicates them) and blocking recall."""
    rules = CONFIGS[config][1]
    con = duckdb.connect()
    con.execute(f"create table persons as {select_persons(source, truth=True)}")
    sqls = [r.get_blocking_rule("duckdb").blocking_rule_sql for r in rules]
    any_rule = " or ".join(f"({s})" for s in sqls)
    true_pairs, blocked_true = con.execute(
        f"""
        select count(*), count(*) filter (where {any_rule})
        from persons as l join persons as r
          on l.person_id = r.person_id and l.record_id < r.record_id
        """
    ).fetchone()
    candidates = 0
    for i, sql in enumerate(sqls):
        earlier = " or ".join(f"({s})" for s in sqls[:i]) or "false"
        candidates += con.execute(
            f"select count(*) from persons l join persons r on ({sql}) "
            f"and l.record_id < r.record_id and not coalesce({earlier}, false)"
        ).fetchone()[0]
    print(f"candidate_pairs {candidates} blocking_recall {blocked_true / true_pairs:.4f}")


if __name__ == "__main__":
    if sys.argv[1] == "--blocking":
        blocking(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "recommended")
    else:
        main()

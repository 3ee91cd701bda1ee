"""Score `sightline persons --json` against the truth of independent_uk.py.

usage: python3 score_persons.py PERSONS.json PREFIX
PREFIX.jsonl holds the records and PREFIX.truth.csv (agency,record_id,ref,person)
who each mention is. Prints one line: pair precision, recall and F1 over pairs of
mentions; the false-merge rate (predicted persons of two or more mentions that
hold two or more true persons); and the look-alike children (two true children
with one surname, date of birth and address: twins) that share a predicted
person. Standard library only.
"""

import collections
import csv
import itertools
import json
import sys


def main() -> None:
    persons_path, prefix = sys.argv[1], sys.argv[2]
    persons = json.load(open(persons_path))
    with open(f"{prefix}.truth.csv", newline="") as handle:
        truth = {(r["agency"], r["record_id"], r["ref"]): r["person"] for r in csv.DictReader(handle)}
    mentions = {}
    with open(f"{prefix}.jsonl") as handle:
        for line in handle:
            record = json.loads(line)
            for person in record["persons"]:
                mentions[(record["source"]["agency"], record["source"]["record_id"], person["ref"])] = person

    predicted_pairs = set()
    false_merges = multi = 0
    predicted_of = collections.defaultdict(set)
    for idx, person in enumerate(persons):
        keys = sorted({(m["agency"], m["record_id"], m["ref"]) for m in person["mentions"]})
        for key in keys:
            predicted_of[truth[key]].add(idx)
        if len(keys) > 1:
            multi += 1
            false_merges += len({truth[key] for key in keys}) > 1
        predicted_pairs.update(itertools.combinations(keys, 2))
    by_person = collections.defaultdict(list)
    for key, who in truth.items():
        by_person[who].append(key)
    true_pairs = set()
    for keys in by_person.values():
        true_pairs.update(itertools.combinations(sorted(keys), 2))
    hits = len(predicted_pairs & true_pairs)
    precision = hits / max(len(predicted_pairs), 1)
    recall = hits / max(len(true_pairs), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)

    # A true person's usual surname, date of birth and first address line.
    usual = collections.defaultdict(collections.Counter)
    for key, who in truth.items():
        mention = mentions[key]
        lines = (mention.get("address") or {}).get("lines") or [None]
        usual[who][(mention.get("family_name"), mention.get("dob"), lines[0])] += 1
    look_alike = collections.defaultdict(list)
    for who, counts in usual.items():
        family, dob, line = counts.most_common(1)[0][0]
        if dob and dob >= "2005":
            look_alike[(family, dob, line)].append(who)
    twin_pairs = merged = 0
    for group in look_alike.values():
        for a, b in itertools.combinations(group, 2):
            twin_pairs += 1
            merged += bool(predicted_of[a] & predicted_of[b])

    print(
        f"mentions {len(truth)}, true persons {len(by_person)}, predicted {len(persons)}; "
        f"pairs: precision {precision:.4f} recall {recall:.4f} F1 {f1:.4f}; "
        f"false-merge rate {false_merges / max(multi, 1):.4f} ({false_merges} of {multi}); "
        f"look-alike children sharing a person: {merged} of {twin_pairs} pairs"
    )


if __name__ == "__main__":
    main()

"""Score a linker's output against the generator's truth, the same way for every tool.

usage: python score.py TRUTH.csv OUT_PREFIX
TRUTH.csv has record_id and person_id columns; OUT_PREFIX.pairs.csv holds the
predicted links (left,right) and OUT_PREFIX.clusters.csv the clusters
(record_id,cluster; records missing from it are singletons).
Prints one JSON object: pair precision, recall and F1 of the predicted links and
of the pairs within predicted clusters, and the false-merge rate (share of
predicted clusters of two or more records that hold two or more true persons).
Standard library only.
"""

import csv
import json
import sys
from collections import defaultdict


def metrics(true_positive: int, predicted: int, actual: int) -> dict:
    precision = true_positive / predicted if predicted else 1.0
    recall = true_positive / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def main() -> None:
    truth_path, prefix = sys.argv[1], sys.argv[2]
    person = {}
    with open(truth_path, newline="") as handle:
        for row in csv.DictReader(handle):
            person[row["record_id"]] = row["person_id"]
    sizes = defaultdict(int)
    for who in person.values():
        sizes[who] += 1
    actual = sum(n * (n - 1) // 2 for n in sizes.values())

    seen = set()
    true_links = 0
    with open(f"{prefix}.pairs.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            left, right = row["left"], row["right"]
            key = (left, right) if left < right else (right, left)
            if key in seen or left == right:
                continue
            seen.add(key)
            true_links += person.get(left) is not None and person.get(left) == person.get(right)
    pairs = metrics(true_links, len(seen), actual)

    members = defaultdict(list)
    with open(f"{prefix}.clusters.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            members[row["cluster"]].append(row["record_id"])
    predicted = 0
    true_within = 0
    merged = 0
    multi = 0
    for records in members.values():
        n = len(records)
        if n < 2:
            continue
        multi += 1
        predicted += n * (n - 1) // 2
        counts = defaultdict(int)
        for record in records:
            counts[person.get(record)] += 1
        true_within += sum(c * (c - 1) // 2 for c in counts.values())
        merged += len(counts) > 1
    clusters = metrics(true_within, predicted, actual)
    print(
        json.dumps(
            {
                "records": len(person),
                "true_pairs": actual,
                "pairs": pairs,
                "predicted_pairs": len(seen),
                "clusters": clusters,
                "false_merge_rate": round(merged / multi, 4) if multi else 0.0,
                "clusters_multi": multi,
            }
        )
    )


if __name__ == "__main__":
    main()

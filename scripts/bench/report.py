"""Write the side-by-side linkage table: print it and replace the section between
the markers in docs/benchmarks.md.

usage: python report.py BENCHMARKS.md|- RESULTS.json   (- prints only)
RESULTS.json: {"records": N, "true_pairs": N, "date": "...", "machine": "...", "command": "...",
               "tools": [{"name", "seconds", "wall", "cpu", "rss_kb", "blocking_recall" (or null),
                          "score": {...}}, ...]}
Standard library only.
"""

import json
import sys

START = "<!-- bench-linkage:start -->"
END = "<!-- bench-linkage:end -->"


def table(results: dict) -> str:
    lines = [
        f"Run {results['date']} on {results['machine']}: `{results['command']}`, "
        f"{results['records']:,} records ({results['true_pairs']:,} true pairs).",
        "",
        "| tool | read+train+predict+cluster s | process wall s | process CPU s | peak RSS MB | blocking recall | pair precision | pair recall | pair F1 | cluster F1 | false-merge rate |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for tool in results["tools"]:
        score = tool["score"]
        recall = tool.get("blocking_recall")
        recall_cell = "not reported" if recall is None else f"{recall:.4f}"
        lines.append(
            f"| {tool['name']} | {tool['seconds']:.1f} | {tool['wall']:.1f} | {tool['cpu']:.1f} | "
            f"{tool['rss_kb'] / 1024:,.0f} | {recall_cell} | {score['pairs']['precision']:.4f} | "
            f"{score['pairs']['recall']:.4f} | {score['pairs']['f1']:.4f} | "
            f"{score['clusters']['f1']:.4f} | {score['false_merge_rate']:.4f} |"
        )
    return "\n".join(lines)


def main() -> None:
    doc_path, results_path = sys.argv[1], sys.argv[2]
    with open(results_path) as handle:
        results = json.load(handle)
    text = table(results)
    print(text)
    if doc_path == "-":
        return
    with open(doc_path) as handle:
        doc = handle.read()
    if START not in doc or END not in doc:
        sys.exit(f"{doc_path} has no {START} ... {END} section")
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    with open(doc_path, "w") as handle:
        handle.write(f"{head}{START}\n{text}\n{END}{tail}")


if __name__ == "__main__":
    main()

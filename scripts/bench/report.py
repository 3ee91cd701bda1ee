"""Write the side-by-side linkage table: print it and replace the section between
the markers in docs/benchmarks.md.

usage: python report.py BENCHMARKS.md|- RESULTS.json   (- prints only)
RESULTS.json: {"date": "...", "machine": "...", "command": "...",
               "populations": [{"head": {"population", "records", "true_pairs"},
                                "tools": [{"name", "seconds", "wall", "cpu", "rss_kb",
                                           "blocking_recall" (or null), "candidates" (or null),
                                           "score": {...}}, ...]}, ...]}
Standard library only.
"""

import json
import sys

START = "<!-- bench-linkage:start -->"
END = "<!-- bench-linkage:end -->"

TITLES = {
    "project": "the project's file (crates/sightline-synth/examples/linkage_persons.rs)",
    "independent": "the independent population (scripts/eval/independent_uk.py)",
}


def table(results: dict) -> str:
    lines = [f"Run {results['date']} on {results['machine']}: `{results['command']}`.", ""]
    for population in results["populations"]:
        head = population["head"]
        lines += [
            f"{head['population'].capitalize()}: {TITLES.get(head['population'], head['population'])}, "
            f"{head['records']:,} records ({head['true_pairs']:,} true pairs).",
            "",
            "| tool | read+train+predict+cluster s | process wall s | process CPU s | peak RSS MB | candidate pairs | blocking recall | pair precision | pair recall | pair F1 | cluster F1 | false-merge rate |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        tools = population["tools"]
        for tool in tools:
            score = tool["score"]
            recall = tool.get("blocking_recall")
            recall_cell = "not reported" if recall is None else f"{recall:.4f}"
            candidates = tool.get("candidates")
            candidates_cell = "not reported" if candidates is None else f"{candidates:,}"
            lines.append(
                f"| {tool['name']} | {tool['seconds']:.1f} | {tool['wall']:.1f} | {tool['cpu']:.1f} | "
                f"{tool['rss_kb'] / 1024:,.0f} | {candidates_cell} | {recall_cell} | "
                f"{score['pairs']['precision']:.4f} | {score['pairs']['recall']:.4f} | "
                f"{score['pairs']['f1']:.4f} | {score['clusters']['f1']:.4f} | "
                f"{score['false_merge_rate']:.4f} |"
            )
        if len(tools) == 2:
            ours, theirs = tools
            lines += [
                "",
                f"Sightline is {theirs['seconds'] / ours['seconds']:.1f}x faster timed, "
                f"{theirs['wall'] / ours['wall']:.1f}x on process wall and "
                f"{theirs['cpu'] / ours['cpu']:.1f}x on process CPU.",
            ]
        lines.append("")
    return "\n".join(lines).rstrip()


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

#!/usr/bin/env bash
# The pure crates (domain, interchange, linkage, rules, access) must not depend on an async
# runtime, a web framework or a database driver: they never touch a socket, a file
# or a clock. This fails if one of them does.
set -euo pipefail
cd "$(dirname "$0")/.."
forbidden='^(tokio|sqlx|axum|hyper|tower|rusqlite|postgres|tokio-postgres|reqwest|mio) '
status=0
for crate in sightline-core sightline-linkage sightline-rules sightline-access sightline-fhir; do
    if ! tree="$(cargo tree -p "$crate" -e normal --prefix none 2>&1)"; then
        echo "cannot read the dependency tree of $crate: $tree" >&2
        status=1
        continue
    fi
    if offenders="$(grep -E "$forbidden" <<<"$tree" | sort -u)" && [ -n "$offenders" ]; then
        echo "$crate is not pure; it depends on:" >&2
        echo "$offenders" >&2
        status=1
    else
        echo "$crate: pure"
    fi
done
exit $status

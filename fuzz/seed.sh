#!/bin/sh
# Seed the fuzz corpora from the repository's fixtures and examples:
# every YAML file for `load`; each fixture directory's files joined at `%%`
# lines (the pipeline target's file separator) for `pipeline`.
set -eu
cd "$(dirname "$0")"
mkdir -p corpus/load corpus/pipeline
i=0
find ../fixtures ../examples -name '*.yaml' -o -name '*.yml' | sort | while read -r f; do
    i=$((i + 1))
    cp "$f" "corpus/load/seed-$i"
done
cp seeds/pipeline/* corpus/pipeline/
find ../fixtures ../examples -type d | sort | while read -r d; do
    files=$(find "$d" -maxdepth 1 \( -name '*.yaml' -o -name '*.yml' \) | sort | head -8)
    [ -n "$files" ] || continue
    out="corpus/pipeline/seed-$(echo "$d" | tr '/.' '__')"
    first=1
    for f in $files; do
        if [ $first -eq 0 ]; then printf '\n%%%%\n' >> "$out"; fi
        first=0
        cat "$f" >> "$out"
    done
done

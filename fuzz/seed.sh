#!/bin/sh
# Seed the fuzz corpora from the repository's fixtures and examples (and
# ../../shared/corpus, real repositories, when it is there):
# every YAML file for `load`; each fixture directory's files joined at `%%`
# lines (the pipeline target's file separator) for `pipeline`.
set -eu
cd "$(dirname "$0")"
mkdir -p corpus/load corpus/pipeline
i=0
trees="../fixtures ../examples"
if [ -d ../../shared/corpus ]; then trees="$trees ../../shared/corpus"; fi
# shellcheck disable=SC2086
find $trees \( -name '*.yaml' -o -name '*.yml' \) -size -16k | sort | while read -r f; do
    i=$((i + 1))
    cp "$f" "corpus/load/seed-$i"
done
cp seeds/pipeline/* corpus/pipeline/
# shellcheck disable=SC2086
find $trees -type d | sort | while read -r d; do
    out="corpus/pipeline/seed-$(echo "$d" | tr '/. ' '___')"
    : > "$out"
    first=1
    find "$d" -maxdepth 1 \( -name '*.yaml' -o -name '*.yml' \) -size -16k | sort | head -8 | while read -r f; do
        if [ $first -eq 0 ]; then printf '\n%%%%\n' >> "$out"; fi
        first=0
        cat "$f" >> "$out"
    done
    [ -s "$out" ] || rm -f "$out"
done

#!/usr/bin/env bash
# Materialise one repository of the wider hand-checked corpus: the YAML (and
# Helm template helpers) of one commit of a git repository, nothing else.
#
#   tests/wider-corpus/materialise.sh GIT_DIR_OR_URL NAME [COMMIT] [DEST_ROOT]
#
# NAME is the directory under tests/wider-corpus/ holding SOURCE.txt,
# VERDICTS.md and expected.tsv (owner+repo); COMMIT defaults to the one
# SOURCE.txt records; DEST_ROOT defaults to ../wider-corpus next to this
# checkout, where tests/wider_corpus.rs looks (or LIFEBOAT_WIDER_CORPUS).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$1"; name="$2"; commit="${3:-}"
dest_root="${4:-${LIFEBOAT_WIDER_CORPUS:-$here/../../../wider-corpus}}"
if [ -z "$commit" ] && [ -f "$here/$name/SOURCE.txt" ]; then
  commit="$(sed -n 's/^commit: *//p' "$here/$name/SOURCE.txt")"
fi
tmp=""
if [ ! -d "$src" ]; then
  tmp="$(mktemp -d)"; git clone -q --bare "$src" "$tmp/repo.git"; src="$tmp/repo.git"
fi
commit="${commit:-$(git --git-dir="$src" rev-parse HEAD)}"
dest="$dest_root/$name"
rm -rf "$dest"; mkdir -p "$dest"
# Only the paths kept (a mirror may lack the blobs of large binary files).
git --git-dir="$src" ls-tree -r -z --name-only "$commit" \
  | grep -z -E '(\.ya?ml|\.tpl|(^|/)\.gitattributes)$' \
  | xargs -0 -r git --git-dir="$src" archive --format=tar "$commit" -- \
  | tar -x -C "$dest"
# Keep YAML, Helm template helpers and .gitattributes; nothing else.
find "$dest" \( -type f -o -type l \) ! \( -name '*.yaml' -o -name '*.yml' -o -name '*.tpl' -o -name .gitattributes \) -delete
find "$dest" -depth -type d -empty -delete
mkdir -p "$dest"
echo "$dest: $(find "$dest" -type f | wc -l) files at $commit"
[ -n "$tmp" ] && rm -rf "$tmp"
exit 0

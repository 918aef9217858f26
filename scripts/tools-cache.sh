# Sourced by the install scripts: binaries built once are kept per user, outside any checkout, so a fresh clone on
# the same machine (CI, a second worktree) copies them instead of building them again. OPPSYNC_TOOLS_CACHE
# overrides the place; an empty value turns the cache off.
tools_cache_dir() {
  local base="${OPPSYNC_TOOLS_CACHE-${XDG_CACHE_HOME:-$HOME/.cache}/oppsync/tools}"
  [[ -n "$base" ]] && echo "$base/$1"
}

# from_tools_cache <entry> <dest dir>: copies a cached entry's files into the checkout's tools; fails if absent.
from_tools_cache() {
  local dir
  dir="$(tools_cache_dir "$1")" || return 1
  [[ -f "$dir/complete" ]] || return 1
  mkdir -p "$2"
  (cd "$dir" && tar --exclude=./complete -cf - .) | (cd "$2" && tar -xf -)
}

# to_tools_cache <entry> <src dir> <path>...: keeps these paths (relative to src dir) as the cached entry. Never
# fails the install: without the cache the next clone builds again.
to_tools_cache() {
  local dir
  dir="$(tools_cache_dir "$1")" || return 0
  { rm -rf "$dir" && mkdir -p "$dir" && (cd "$2" && tar -cf - "${@:3}") | (cd "$dir" && tar -xf -) &&
    touch "$dir/complete"; } || echo "warning: could not keep $1 in $dir" >&2
}

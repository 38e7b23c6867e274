# Sourced by the scripts that use outside tools: `need TOOL:PACKAGE ...`
# installs the Debian packages of the tools not on PATH (apt-get, with sudo
# only when not root), or exits saying why it cannot.
need() {
    local missing=() pair
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    echo "== installing ${missing[*]} with apt-get"
    local sudo=()
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "$(basename "$0"): ${missing[*]} not installed and this user cannot install them (not root, no sudo)" >&2
            exit 1
        fi
    fi
    # .ci/run runs several scripts at once: one apt-get at a time.
    "${sudo[@]}" flock "${TMPDIR:-/tmp}/stratus-apt.lock" sh -c \
        'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null' \
        need "${missing[@]}"
}

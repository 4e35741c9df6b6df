#!/usr/bin/env bash
# Run the README's curl walkthrough exactly as written: the ```sh block that follows the line
# `<!-- walkthrough: curl ... -->`. Its settings come from the environment (HP, HOST_IP,
# SSH_PORT, SSH_USER), the SSH password from stdin (the block's `read`), as a reader would
# answer it. Any failing command fails the run (bash -e, pipefail), naming the line.
#
# Usage: HP=http://127.0.0.1:18080/zstack/v1 HOST_IP=127.0.0.5 SSH_PORT=2222 SSH_USER=root \
#          tests/readme/walkthrough.sh README.md <<< "$SSH_PASSWORD"
set -euo pipefail
readme=${1:?usage: walkthrough.sh README.md}
block=$(awk '/^<!-- walkthrough: curl/ { found = 1; next }
             found && /^```sh/ { inside = 1; next }
             inside && /^```/ { exit }
             inside' "$readme")
[ -n "$block" ] || { echo "walkthrough.sh: no walkthrough block in $readme" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
bash -eEuo pipefail -c "trap 'echo \"walkthrough failed at line \$LINENO: \$BASH_COMMAND\" >&2' ERR
$block"

#!/bin/sh
#
# The CodeCrafters platform starts the server with this, once per stage, in the
# repository's folder, with the stage's flags (https://codecrafters.io/program-interface).
# Locally, ./your_program.sh does the same.
#
# Arguments go to the server: a redis.conf path and/or --name value options. The
# working directory is left alone: it is the default for `CONFIG GET dir`.
set -e
here=$(cd "$(dirname "$0")/.." && pwd)
PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" exec python3 -m app.main "$@"

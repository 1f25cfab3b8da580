#!/bin/sh
# Start the server; arguments go to it (a redis.conf path and/or --name value options).
# The working directory is left alone: it is the default for `CONFIG GET dir`.
here=$(cd "$(dirname "$0")" && pwd)
PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" exec python3 -m app.main "$@"

#!/bin/sh
# Start the server. Any arguments go to it: a redis.conf path and/or --name value options.
cd "$(dirname "$0")" || exit 1
exec python3 -m app.main "$@"

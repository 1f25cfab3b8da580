#!/bin/sh
#
# Start the server locally, exactly as the CodeCrafters platform does: build with
# .codecrafters/compile.sh, then run .codecrafters/run.sh (which is what the platform
# starts; changing this file changes nothing there).
#
# Arguments go to the server: a redis.conf path and/or --name value options.
set -e
here=$(cd "$(dirname "$0")" && pwd)
"$here/.codecrafters/compile.sh"
exec "$here/.codecrafters/run.sh" "$@"

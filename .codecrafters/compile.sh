#!/bin/sh
#
# The CodeCrafters platform runs this once to build the program, then starts
# .codecrafters/run.sh for every stage (https://codecrafters.io/program-interface).
#
# Nothing to build: the server is pure Python on the standard library alone, so
# there is nothing to install either.
set -e

#!/bin/sh
# Runs one of the image's programs by name; any other first argument goes to the router.
set -e
case "$1" in
  workflow-router|workflow-operator|vllm-sim)
    program="$1"
    shift
    exec node "/app/bin/$program.js" "$@"
    ;;
  *)
    exec node /app/bin/workflow-router.js "$@"
    ;;
esac

#!/usr/bin/env bash
# Bootstrapper: restores the pinned Cake tool, then runs build.cake with the given arguments,
# e.g. ./build.sh --target=Test   or   ./build.sh --target=Demo
set -euo pipefail
cd "$(dirname "$0")"
dotnet tool restore >/dev/null
exec dotnet cake build.cake "$@"

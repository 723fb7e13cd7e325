#!/bin/sh
# npm runs every lifecycle script as `<script-shell> -c "<command>"` (see .npmrc).
# npm links node_modules/.bin/node only after all preinstall scripts ran, so during a fresh
# install openclaw's preinstall would see the machine's Node 20 and refuse. The `node` package's
# own preinstall (sorted first, and awaited here when installs run in parallel) places the
# Node 24 binary at node_modules/node/bin/node; put it first on PATH.
root="${npm_config_local_prefix:-$PWD}"
n24="$root/node_modules/node/bin"
if [ "${npm_package_name:-}" = "openclaw" ] && [ "${npm_lifecycle_event:-}" = "preinstall" ]; then
  i=0
  while ! "$n24/node" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 24 ? 0 : 1)' 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -gt 600 ] && { echo "npm-script-shell: no Node 24 at $n24 after 120 s" >&2; break; }
    sleep 0.2
  done
fi
[ -x "$n24/node" ] && PATH="$n24:$PATH" && export PATH
exec /bin/sh "$@"

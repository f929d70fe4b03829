#!/bin/sh
# Stands in for /usr/sbin/installer in the demo: the helper runs it exactly as it would run the
# real one (-pkg <staged pkg> -target /). It "installs" a sample package by writing the version
# found in the package's first line into the device's version file (MNGD_DEMO_VERSION_FILE),
# which is what the agent reads as its current version after launchd relaunches it.
pkg=""
while [ $# -gt 0 ]; do
  case "$1" in
    -pkg) pkg="$2"; shift 2 ;;
    -target) shift 2 ;;
    *) echo "installer: unknown argument $1" >&2; exit 2 ;;
  esac
done
version=$(head -c 200 "$pkg" | head -n 1 | sed -n 's/^xar!mngd-agent \([0-9.]*\) .*/\1/p')
if [ -z "$version" ]; then echo "installer: $pkg is not an mngd-agent package" >&2; exit 1; fi
echo "installer: Package name is mngd-agent $version"
echo "installer: Installing at base path /"
printf '%s\n' "$version" > "$MNGD_DEMO_VERSION_FILE"
echo "installer: The install was successful."

#!/bin/sh
# Stands in for /usr/sbin/installer in the demo: the helper runs it exactly as it would run the
# real one (-pkg <staged pkg> -target /). It "installs" a sample package by writing the version
# found in the package's first line into the device's version file (MNGD_DEMO_VERSION_FILE),
# which is what the agent reads as its current version after launchd relaunches it.
# MNGD_DEMO_FAIL_VERSION (set on some Macs' helpers by the guard story): installing that version
# fails, as the real installer does when a package's scripts fail on that Mac.
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
if [ -n "${MNGD_DEMO_FAIL_VERSION:-}" ] && [ "$version" = "$MNGD_DEMO_FAIL_VERSION" ]; then
  echo "installer: The install failed. (The Installer encountered an error that caused the installation to fail.)" >&2
  exit 1
fi
printf '%s\n' "$version" > "$MNGD_DEMO_VERSION_FILE"
echo "installer: The install was successful."

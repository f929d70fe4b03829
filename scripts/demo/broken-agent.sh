#!/bin/sh
# Stands in for an mngd-agent build that broke the updater (the bad-updater story): launchd starts
# it and it runs, but it never checks, never checks in and never sends health_ok. The helper's
# health gate puts the version before it back at the deadline. $1: the version it stands for.
echo "mngd-agent $1 (a build that broke the updater): running, never checking in" >&2
exec sleep 86400

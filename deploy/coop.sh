#!/bin/sh
# `coop` with the production settings, for an admin's shell or cron:
#   sudo -u coop /srv/coop/deploy/coop.sh db upgrade
set -a
. /etc/coop/coop.env
set +a
exec /srv/coop/.venv/bin/coop "$@"

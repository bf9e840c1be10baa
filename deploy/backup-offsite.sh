#!/usr/bin/env bash
# An example: copy the encrypted dumps of deploy/backup.sh to another machine, over SSH.
# The copies stay encrypted (the other machine never holds the key) and keep mode 0600;
# dumps deleted here after BACKUP_KEEP_DAYS are deleted there too (--delete), so that the
# promise of docs/privacy.md (erased details leave the backups within 30 days) holds
# off-site as well. Adapt it to the agency's own backup store.
#
# Settings (environment):
#   BACKUP_DIR            the local dumps. Default: /var/backups/survey_app
#   BACKUP_OFFSITE        where to: user@host:/path/ (required), e.g.
#                         backup@luutru.tinh.gov.vn:/srv/backups/survey_app/
#   BACKUP_OFFSITE_KEY    the SSH key allowed on that host (a key of its own, used for
#                         nothing else). Default: ~/.ssh/survey_backup
set -euo pipefail

dir=${BACKUP_DIR:-/var/backups/survey_app}
target=${BACKUP_OFFSITE:?set BACKUP_OFFSITE=user@host:/path/}
key=${BACKUP_OFFSITE_KEY:-$HOME/.ssh/survey_backup}

rsync --archive --delete --chmod=F600,D700 --include='survey-*.dump.age' --exclude='*' \
  -e "ssh -i $key -o BatchMode=yes" "$dir/" "$target"

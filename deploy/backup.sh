#!/usr/bin/env bash
# The nightly backup of survey_app's database: a pg_dump in PostgreSQL's custom format,
# encrypted with age to the public key(s) in BACKUP_RECIPIENTS, written 0600 (umask 077),
# then dumps older than BACKUP_KEEP_DAYS deleted. Prints the path of the new file.
#
# Why age and a public key: the server holds only the public key, so whoever takes the
# server or a copy of its backups reads nothing; the private key that decrypts stays in the
# agency's password safe, apart from the dumps and from SECRET_KEY and HASH_KEY
# (docs/deployment.md, section 8). No passphrase lives in a file or a cron line.
#
# Settings (environment):
#   BACKUP_DATABASE    the database to dump: a name (survey) or a libpq URI
#                      (postgresql://survey@127.0.0.1/survey). Default: survey
#   BACKUP_DIR         where the encrypted dumps go. Default: /var/backups/survey_app
#   BACKUP_RECIPIENTS  a file of age public keys (age1…), one a line.
#                      Default: /etc/survey_app/backup-recipients.txt
#   BACKUP_KEEP_DAYS   dumps older than this are deleted. Default: 30 (docs/privacy.md)
set -euo pipefail
umask 077

database=${BACKUP_DATABASE:-survey}
dir=${BACKUP_DIR:-/var/backups/survey_app}
recipients=${BACKUP_RECIPIENTS:-/etc/survey_app/backup-recipients.txt}
keep_days=${BACKUP_KEEP_DAYS:-30}

if [ ! -s "$recipients" ]; then
  echo "backup.sh: no age public key in $recipients (age-keygen -y key.txt > $recipients)" >&2
  exit 1
fi
mkdir -p "$dir"

name="survey-$(date -u +%Y-%m-%dT%H%M%SZ).dump.age"
partial="$dir/.$name.partial"
trap 'rm -f "$partial"' EXIT
# Written under a hidden name, renamed once complete: a half-written dump never looks whole.
pg_dump --format=custom --dbname="$database" | age --encrypt --recipients-file "$recipients" --output "$partial"
mv "$partial" "$dir/$name"
trap - EXIT

find "$dir" -maxdepth 1 -name 'survey-*.dump.age' -mtime +"$keep_days" -delete
echo "$dir/$name"

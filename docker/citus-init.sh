#!/bin/bash
# Citus nodes of the compose profile `citus`: the citus extension in the kam database, which
# docker/postgres-init.sh (10-kam.sh) has just created. The image runs this from
# /docker-entrypoint-initdb.d once, when the node's data volume is empty; it is idempotent.
set -e

psql --no-psqlrc --set ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname kam \
    --command "CREATE EXTENSION IF NOT EXISTS citus"

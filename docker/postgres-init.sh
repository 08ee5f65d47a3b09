#!/bin/bash
# Creates the KAM roles and database (DESIGN section 2). The postgres image runs this
# from /docker-entrypoint-initdb.d once, when its data volume is empty; it is idempotent,
# so it can also be run again by hand (a re-run resets both passwords to the current env).
#
#   kam_owner  owns the database and the tables; `manage.py migrate` connects as it.
#   kam_app    what web, worker and beat connect as: not superuser, not BYPASSRLS, not
#              the owner, so PostgreSQL row-level security applies to it. migrate grants
#              it SELECT/INSERT/UPDATE/DELETE on the tables afterwards.
#
# Passwords come from KAM_OWNER_PASSWORD and KAM_APP_PASSWORD and reach SQL only as
# psql variables (:'var' quotes them as literals), never through the shell.
set -e

: "${KAM_OWNER_PASSWORD:?KAM_OWNER_PASSWORD is not set}"
: "${KAM_APP_PASSWORD:?KAM_APP_PASSWORD is not set}"

psql --no-psqlrc --set ON_ERROR_STOP=1 \
    --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
    --set owner_password="$KAM_OWNER_PASSWORD" \
    --set app_password="$KAM_APP_PASSWORD" <<'EOSQL'
SELECT 'CREATE ROLE kam_owner' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kam_owner') \gexec
ALTER ROLE kam_owner WITH LOGIN NOSUPERUSER NOBYPASSRLS CREATEDB NOCREATEROLE PASSWORD :'owner_password';

SELECT 'CREATE ROLE kam_app' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kam_app') \gexec
ALTER ROLE kam_app WITH LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'app_password';

SELECT 'CREATE DATABASE kam OWNER kam_owner ENCODING ''UTF8'' TEMPLATE template0'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'kam') \gexec

-- Only the two KAM roles (and superusers) may connect.
REVOKE ALL ON DATABASE kam FROM PUBLIC;
GRANT CONNECT ON DATABASE kam TO kam_app;

\connect kam
-- The owner creates the tables; the app role gets table privileges from migrate, never CREATE.
ALTER SCHEMA public OWNER TO kam_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
EOSQL

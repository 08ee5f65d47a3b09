#!/bin/bash
# One-shot of the compose profile `citus` (service citus-setup), after the three nodes are
# healthy: the passwords the nodes use to reach each other, then the coordinator's record of
# itself and of the two workers. Idempotent: it runs again on every `docker compose up`.
#
# Citus connects from node to node as the role of the session (kam_app for the app,
# kam_owner for migrations, postgres for shard moves), with the password found in the
# node's pg_dist_authinfo (node 0: any node). Passwords reach SQL only as psql variables.
set -euo pipefail

: "${POSTGRES_PASSWORD:?}" "${KAM_OWNER_PASSWORD:?}" "${KAM_APP_PASSWORD:?}"
coordinator=citus-coordinator
workers=(citus-worker-1 citus-worker-2)

sql() {
    PGPASSWORD="$POSTGRES_PASSWORD" psql --no-psqlrc --set ON_ERROR_STOP=1 --host "$1" --username postgres \
        --dbname kam --set postgres_password="$POSTGRES_PASSWORD" --set owner_password="$KAM_OWNER_PASSWORD" \
        --set app_password="$KAM_APP_PASSWORD"
}

for node in "$coordinator" "${workers[@]}"; do
    sql "$node" <<'EOSQL'
DELETE FROM pg_dist_authinfo WHERE nodeid = 0 AND rolename IN ('postgres', 'kam_owner', 'kam_app');
INSERT INTO pg_dist_authinfo (nodeid, rolename, authinfo) VALUES
    (0, 'postgres', 'password=' || :'postgres_password'),
    (0, 'kam_owner', 'password=' || :'owner_password'),
    (0, 'kam_app', 'password=' || :'app_password');
EOSQL
done

sql "$coordinator" <<EOSQL
SELECT citus_set_coordinator_host('$coordinator', 5432);
$(for worker in "${workers[@]}"; do echo "SELECT citus_add_node('$worker', 5432);"; done)
EOSQL

#!/bin/bash
# cluster.d/provision.sh -- runs INSIDE one sandbox host, as root, over SSH:
#   sandbox/cluster pipes it into `ssh root@127.0.10.X bash -s -- STEP`.
# Lays out PostgreSQL the way Pigsty does and creates the instance:
#   primary: initdb (data checksums), the cluster's database, role `replicator`
#   replica: pg_basebackup from the cluster's primary, standby.signal
# The host's identity comes from /etc/pgplay-sandbox/host.env (written by
# sandbox/cluster): NAME IP CLUSTER ROLE SEQ PRIMARY_IP DBNAME.
# Safe to run again: an existing /pg/data is kept.
set -euo pipefail
. /etc/pgplay-sandbox/host.env

PGBIN=/usr/lib/postgresql/15/bin
CDIR=/data/postgres/$CLUSTER-15            # pg_cluster_dir; /pg -> here
BDIR=/data/backups/postgres/$CLUSTER-15    # pg_fs_backup part; /pg/backup -> $BDIR/backup
export PGHOST=/var/run/postgresql PGUSER=postgres PGCONNECT_TIMEOUT=5

say() { echo "provision[$NAME]: $*"; }

layout() {
    update-ca-certificates --fresh > /dev/null 2>&1
    install -d -o root -g root -m 0777 /data /data/backups
    install -d -o postgres -g postgres -m 0700 /data/postgres "$CDIR" /data/backups/postgres "$BDIR" "$BDIR/backup"
    local d
    for d in bin log tmp cert conf data meta stat change spool; do
        install -d -o postgres -g postgres -m 0700 "$CDIR/$d"
    done
    install -d -o postgres -g postgres -m 0750 "$CDIR/log/postgres" "$CDIR/log/pgbackrest"
    ln -sfnT "$BDIR/backup" "$CDIR/backup"
    ln -sfnT "$CDIR" /pg
    chown -h postgres:postgres /pg "$CDIR/backup"
    install -o postgres -g postgres -m 0600 /etc/pgplay-sandbox/instance.conf /pg/conf/instance.conf
}

install_conf() {
    install -o postgres -g postgres -m 0600 /etc/pgplay-sandbox/postgresql.conf /pg/data/postgresql.conf
    install -o postgres -g postgres -m 0600 /etc/pgplay-sandbox/pg_hba.conf /pg/data/pg_hba.conf
}

start_pg() {
    systemctl enable --quiet postgres.service
    systemctl start postgres.service
    local i
    for i in $(seq 1 60); do
        "$PGBIN/pg_isready" -q -h /var/run/postgresql && return 0
        sleep 0.5
    done
    say "postgres does not accept connections"; tail -20 /pg/log/postgres/*.log >&2 || true
    return 1
}

primary() {
    if [[ ! -s /pg/data/PG_VERSION ]]; then
        systemctl stop postgres.service 2>/dev/null || true
        find /pg/data -mindepth 1 -delete
        say "initdb /pg/data (data checksums)"
        runuser -u postgres -- "$PGBIN/initdb" -D /pg/data -k -E UTF8 --locale=C -U postgres -A trust > /pg/tmp/initdb.log
    fi
    install_conf
    start_pg
    psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL
SELECT 'CREATE ROLE replicator LOGIN REPLICATION PASSWORD ''DBUser.Replicator'''
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'replicator') \gexec
SELECT 'CREATE DATABASE $DBNAME' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DBNAME') \gexec
SQL
    psql -X -q -v ON_ERROR_STOP=1 -d "$DBNAME" -c "CREATE TABLE IF NOT EXISTS sandbox_hello (id int PRIMARY KEY, host text, at timestamptz DEFAULT now())" \
        -c "INSERT INTO sandbox_hello VALUES (1, '$NAME') ON CONFLICT DO NOTHING"
    say "primary of $CLUSTER ready, database $DBNAME"
}

replica() {
    if [[ ! -s /pg/data/PG_VERSION ]]; then
        systemctl stop postgres.service 2>/dev/null || true
        find /pg/data -mindepth 1 -delete
        local i
        for i in $(seq 1 120); do
            "$PGBIN/pg_isready" -q -h "$PRIMARY_IP" -p 5432 && break
            sleep 0.5
        done
        say "pg_basebackup from $PRIMARY_IP"
        runuser -u postgres -- "$PGBIN/pg_basebackup" -h "$PRIMARY_IP" -p 5432 -U replicator -w \
            -D /pg/data -X stream -c fast
        runuser -u postgres -- touch /pg/data/standby.signal
    fi
    install_conf
    start_pg
    say "replica of $PRIMARY_IP ready"
}

case ${1:-} in
    primary) layout; primary ;;
    replica) layout; replica ;;
    *) echo "usage: provision.sh primary|replica" >&2; exit 2 ;;
esac

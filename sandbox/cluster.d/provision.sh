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

# ---------------------------------------------------------------- Patroni mode
ETCDCTL=(env ETCDCTL_API=3 etcdctl --endpoints=https://127.0.10.10:2379 --cacert=/etc/etcd/ca.crt
    --dial-timeout=2s --command-timeout=5s)

# etcd on pg-meta-1: TLS, then the RBAC root user (etcd_root_password) and auth on.
etcd_up() {
    install -d -o etcd -g etcd -m 0700 /data/etcd
    chown root:etcd /etc/etcd/server.key; chmod 0640 /etc/etcd/server.key
    systemctl enable --quiet etcd.service
    systemctl start etcd.service
    local end=$((SECONDS + 60)) state=down
    while ((SECONDS < end)); do
        if "${ETCDCTL[@]}" --user root:Etcd.Root auth status 2>/dev/null | grep -q 'Authentication Status: true'; then
            state=auth; break
        fi
        if "${ETCDCTL[@]}" endpoint status > /dev/null 2>&1; then state=open; break; fi
        sleep 0.5
    done
    case $state in
        down) say "etcd does not answer on https://127.0.10.10:2379"; journalctl -u etcd --no-pager | tail -20 >&2; return 1 ;;
        open)
            "${ETCDCTL[@]}" user get root > /dev/null 2>&1 ||
                "${ETCDCTL[@]}" user add root --new-user-password=Etcd.Root > /dev/null
            "${ETCDCTL[@]}" user grant-role root root > /dev/null 2>&1 || true
            "${ETCDCTL[@]}" auth enable > /dev/null ;;
    esac
    "${ETCDCTL[@]}" --user root:Etcd.Root put /pgplay/sandbox ready > /dev/null || { say "etcd refuses root"; return 1; }
    say "etcd ready (TLS, auth on)"
}

# Patroni on this host: the primary bootstraps the cluster (initdb), replicas clone from it.
patroni_up() {
    systemctl disable --quiet postgres.service 2>/dev/null || true
    systemctl enable --quiet patroni.service
    systemctl start patroni.service
    local i want
    [[ $ROLE == primary ]] && want=t || want=f
    for i in $(seq 1 240); do
        if "$PGBIN/pg_isready" -q -h /var/run/postgresql &&
            [[ $(psql -X -Atqc 'select not pg_is_in_recovery()' -d postgres 2>/dev/null) == "$want" ]]; then
            break
        fi
        sleep 0.5
    done
    [[ $(psql -X -Atqc 'select not pg_is_in_recovery()' -d postgres 2>/dev/null) == "$want" ]] || {
        say "patroni did not bring PostgreSQL up as $ROLE"; journalctl -u patroni --no-pager | tail -30 >&2; return 1; }
    if [[ $ROLE == primary ]]; then
        psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL
SELECT 'CREATE DATABASE $DBNAME' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DBNAME') \gexec
SQL
        psql -X -q -v ON_ERROR_STOP=1 -d "$DBNAME" -c "CREATE TABLE IF NOT EXISTS sandbox_hello (id int PRIMARY KEY, host text, at timestamptz DEFAULT now())" \
            -c "INSERT INTO sandbox_hello VALUES (1, '$NAME') ON CONFLICT DO NOTHING"
    fi
    say "patroni: $ROLE of $CLUSTER ready"
}

case ${1:-} in
    primary) layout; primary ;;
    replica) layout; replica ;;
    etcd) etcd_up ;;
    patroni) layout; patroni_up ;;
    *) echo "usage: provision.sh primary|replica|etcd|patroni" >&2; exit 2 ;;
esac

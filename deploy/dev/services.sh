#!/bin/sh
# Install and start PostgreSQL and RabbitMQ from the distribution's packages
# (Debian or Ubuntu, as root). Safe to run again: it skips what is done.
set -eu

if [ "$(id -u)" -ne 0 ]; then
    echo "make services: run as root (for example: sudo make services)" >&2
    exit 2
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "make services: needs apt-get (Debian or Ubuntu); install PostgreSQL and RabbitMQ yourself" >&2
    exit 2
fi

missing=""
command -v pg_ctlcluster >/dev/null 2>&1 || missing="$missing postgresql"
command -v rabbitmq-server >/dev/null 2>&1 || missing="$missing rabbitmq-server"
if [ -n "$missing" ]; then
    echo "Installing$missing ..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
fi

version=$(ls /etc/postgresql | sort -n | tail -n 1)
if ! pg_lsclusters -h | grep -q "online"; then
    echo "Starting PostgreSQL $version ..."
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
# The default DATABASE_URL signs in as postgres/postgres over TCP; servers
# configured for trust authentication ignore the password.
su postgres -c "psql -q -c \"ALTER ROLE postgres PASSWORD 'postgres'\"" >/dev/null

if ! rabbitmqctl -q status >/dev/null 2>&1; then
    echo "Starting RabbitMQ ..."
    rabbitmq-server -detached
    rabbitmqctl -q wait --timeout 60 /var/lib/rabbitmq/mnesia/rabbit@"$(hostname -s)".pid >/dev/null 2>&1 || sleep 10
fi
echo "PostgreSQL and RabbitMQ are running on 127.0.0.1 (ports 5432 and 5672)."

#!/usr/bin/env bash
# The kafka container of docker-compose.yml: SASL_SSL (SCRAM-SHA-512) for clients, SASL/PLAIN for
# the controller's own principal on the container's loopback, StandardAuthorizer with ACLs.
# KRaft keeps SCRAM credentials in its metadata log, so they are bootstrapped when the storage is
# formatted (kafka-storage format --add-scram); then the image's own start-up takes over (it
# renders the KAFKA_* variables into the broker's properties and leaves formatted storage alone).
# The passwords come from the operator through the WAYPOINT_KAFKA_*_PASSWORD variables.
set -euo pipefail

for user in controller admin intake goals progress; do
  variable="WAYPOINT_KAFKA_${user^^}_PASSWORD"
  if [[ -z "${!variable:-}" ]]; then
    echo "$variable is not set" >&2
    exit 1
  fi
done

scratch=$(mktemp -d)
chmod 700 "$scratch"

# JAAS: the controller listener's PLAIN user; on every other listener the broker's SCRAM login.
cat > "$scratch/jaas.conf" <<EOF
controller.KafkaServer {
  org.apache.kafka.common.security.plain.PlainLoginModule required
  username="controller" password="${WAYPOINT_KAFKA_CONTROLLER_PASSWORD}"
  user_controller="${WAYPOINT_KAFKA_CONTROLLER_PASSWORD}";
};
KafkaServer {
  org.apache.kafka.common.security.scram.ScramLoginModule required
  username="controller" password="${WAYPOINT_KAFKA_CONTROLLER_PASSWORD}";
};
EOF
export KAFKA_OPTS="${KAFKA_OPTS:-} -Djava.security.auth.login.config=$scratch/jaas.conf"

# What formatting needs to know; the full properties are the image's business.
cat > "$scratch/format.properties" <<EOF
process.roles=${KAFKA_PROCESS_ROLES}
node.id=${KAFKA_NODE_ID}
controller.quorum.voters=${KAFKA_CONTROLLER_QUORUM_VOTERS}
controller.listener.names=${KAFKA_CONTROLLER_LISTENER_NAMES}
listeners=${KAFKA_LISTENERS}
listener.security.protocol.map=${KAFKA_LISTENER_SECURITY_PROTOCOL_MAP}
inter.broker.listener.name=${KAFKA_INTER_BROKER_LISTENER_NAME}
log.dirs=${KAFKA_LOG_DIRS}
EOF
/opt/kafka/bin/kafka-storage.sh format --config "$scratch/format.properties" \
  --cluster-id "$CLUSTER_ID" --ignore-formatted \
  --add-scram "SCRAM-SHA-512=[name=controller,password=${WAYPOINT_KAFKA_CONTROLLER_PASSWORD}]" \
  --add-scram "SCRAM-SHA-512=[name=admin,password=${WAYPOINT_KAFKA_ADMIN_PASSWORD}]" \
  --add-scram "SCRAM-SHA-512=[name=intake,password=${WAYPOINT_KAFKA_INTAKE_PASSWORD}]" \
  --add-scram "SCRAM-SHA-512=[name=goals,password=${WAYPOINT_KAFKA_GOALS_PASSWORD}]" \
  --add-scram "SCRAM-SHA-512=[name=progress,password=${WAYPOINT_KAFKA_PROGRESS_PASSWORD}]"
rm "$scratch/format.properties"

# The health check's client: the admin principal over TLS, trusting the operator's CA.
cat > "$scratch/health.properties" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${WAYPOINT_KAFKA_ADMIN_PASSWORD}";
ssl.truststore.type=PEM
ssl.truststore.location=/etc/kafka/secrets/ca.pem
EOF
ln -sf "$scratch/health.properties" /tmp/waypoint-health.properties

exec /etc/kafka/docker/run

#!/usr/bin/env bash
# Installs the cluster prerequisites of infra/ at the pinned versions (infra/README.md, "Prerequisites"):
# the Strimzi Cluster Operator (namespace kafka), Knative Serving + Kourier, Knative Eventing with the
# Kafka Broker and KafkaSink. Idempotent. Needs kubectl pointed at the cluster, and network access to the
# release downloads (the overlays themselves render offline).
set -euo pipefail
# The versions are pinned in versions.json at the repository root.
pin() { node -p "require('$(cd "$(dirname "$0")/../.." && pwd)/versions.json').$1"; }
STRIMZI_VERSION=$(pin strimzi.version)
KNATIVE_VERSION=$(pin knative.version)
gh=https://github.com

kubectl create namespace kafka --dry-run=client -o yaml | kubectl apply -f -
curl -fsSL "$gh/strimzi/strimzi-kafka-operator/releases/download/$STRIMZI_VERSION/strimzi-cluster-operator-$STRIMZI_VERSION.yaml" \
  | sed 's/namespace: .*/namespace: kafka/' | kubectl apply -n kafka -f -

kubectl apply -f "$gh/knative/serving/releases/download/$KNATIVE_VERSION/serving-crds.yaml"
kubectl apply -f "$gh/knative/serving/releases/download/$KNATIVE_VERSION/serving-core.yaml"
kubectl apply -f "$gh/knative/net-kourier/releases/download/$KNATIVE_VERSION/kourier.yaml"

kubectl apply -f "$gh/knative/eventing/releases/download/$KNATIVE_VERSION/eventing-crds.yaml"
kubectl apply -f "$gh/knative/eventing/releases/download/$KNATIVE_VERSION/eventing-core.yaml"
for f in eventing-kafka-controller eventing-kafka-broker eventing-kafka-sink; do
  kubectl apply -f "$gh/knative-extensions/eventing-kafka-broker/releases/download/$KNATIVE_VERSION/$f.yaml"
done

for ns in kafka knative-serving kourier-system knative-eventing; do
  kubectl wait --for=condition=Available deployment --all -n "$ns" --timeout=5m
done
echo "prerequisites ready; next: tributary keys --all | kubectl apply -f -  (after kubectl create namespace tributary)"

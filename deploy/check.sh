#!/bin/sh
# Offline checks of everything under deploy/ (no Docker engine, no cluster needed).
# Each check runs when its tool is present and says SKIP otherwise:
#   python3 + PyYAML   YAML parses; k8s cross-references (selectors, ports, secret keys,
#                      drain budget, threads = CPU limit); dashboard metrics exist
#   nginx + libnginx-mod-rtmp + unshare (root)   nginx -t of both configs, with the
#                      compose hostnames in a private /etc/hosts
#   promtool           prometheus.yml, alerts.yml, every dashboard expression
#   kubectl            kustomize build of deploy/k8s
# Usage: sh deploy/check.sh      (exit 1 on the first failing check)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok()   { echo "ok    $*"; }
skip() { echo "SKIP  $*"; }
have() { command -v "$1" >/dev/null 2>&1; }

if have python3 && python3 -c 'import yaml' 2>/dev/null; then
  python3 - "$here" "$tmp" <<'PY'
import glob, json, os, re, sys, yaml
here, tmp = sys.argv[1], sys.argv[2]
fail = []
files = sorted(glob.glob(f"{here}/**/*.yml", recursive=True) + glob.glob(f"{here}/**/*.yaml", recursive=True))
docs = {}
for f in files:
    try:
        docs[f] = [d for d in yaml.safe_load_all(open(f)) if d is not None]
    except yaml.YAMLError as e:
        fail.append(f"{f}: {e}")
print(f"ok    {len(files)} YAML files parse")

# --- Kubernetes cross-references -------------------------------------------------
k8s = [d for f in files if "/k8s/" in f for d in docs.get(f, [])]
by = {(d["kind"], d["metadata"]["name"]): d for d in k8s if "metadata" in d}
dep = by[("Deployment", "vidzo")]
pod = dep["spec"]["template"]
sel = dep["spec"]["selector"]["matchLabels"]
def matches(s): return all(pod["metadata"]["labels"].get(k) == v for k, v in s.items())
if not matches(sel): fail.append("Deployment selector does not match its pod labels")
svc = by[("Service", "vidzo")]
if not matches(svc["spec"]["selector"]): fail.append("Service selector misses the pods")
pdb = by[("PodDisruptionBudget", "vidzo")]
if not matches(pdb["spec"]["selector"]["matchLabels"]): fail.append("PDB selector misses the pods")
if pdb["spec"]["minAvailable"] >= dep["spec"]["replicas"]: fail.append("PDB minAvailable >= replicas: drains would block")
hpa = by[("HorizontalPodAutoscaler", "vidzo")]
if hpa["spec"]["scaleTargetRef"]["name"] != "vidzo": fail.append("HPA targets another Deployment")
if hpa["spec"]["minReplicas"] <= pdb["spec"]["minAvailable"]: fail.append("HPA minReplicas <= PDB minAvailable")
c = pod["spec"]["containers"][0]
ports = {p["name"]: p["containerPort"] for p in c["ports"]}
for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
    if c[probe]["httpGet"]["port"] not in ports: fail.append(f"{probe} names an unknown port")
if c["readinessProbe"]["httpGet"]["path"] != "/readyz": fail.append("readiness must use /readyz")
if c["livenessProbe"]["httpGet"]["path"] != "/healthz": fail.append("liveness must use /healthz")
if svc["spec"]["ports"][0]["targetPort"] not in ports: fail.append("Service targetPort unknown")
cm = by[("ConfigMap", "vidzo-config")]["data"]
secret = by[("Secret", "vidzo-secrets")]["stringData"]
for obj in (dep, by[("Job", "vidzo-migrate")]):
    for ctr in obj["spec"]["template"]["spec"]["containers"]:
        for e in ctr.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref and ref["key"] not in secret: fail.append(f"secret key {ref['key']} not in example Secret")
pre = c["lifecycle"]["preStop"]["exec"]["command"]
budget = int(pre[-1]) + int(cm["VIDZO_SHUTDOWN_TIMEOUT"])
grace = pod["spec"]["terminationGracePeriodSeconds"]
if budget >= grace: fail.append(f"preStop + shutdown timeout ({budget}s) >= grace ({grace}s)")
if str(c["resources"]["limits"]["cpu"]) != cm["VIDZO_THREADS"]: fail.append("VIDZO_THREADS != CPU limit")
sc = c["securityContext"]
if not (sc["readOnlyRootFilesystem"] and pod["spec"]["securityContext"]["runAsNonRoot"]): fail.append("pod not read-only/non-root")
for ing in (d for d in k8s if d["kind"] == "Ingress"):
    for r in ing["spec"]["rules"]:
        for p in r["http"]["paths"]:
            b = p["backend"]["service"]
            if b["name"] != "vidzo" or b["port"].get("name") not in [q["name"] for q in svc["spec"]["ports"]]:
                fail.append(f"Ingress {ing['metadata']['name']} points at an unknown service/port")
print(f"ok    k8s cross-references ({len(k8s)} objects; drain budget {budget}s < {grace}s)")

# --- Dashboard: JSON, metric names, expressions for promtool ------------------------
exported = """vidzo_http_requests_total vidzo_http_request_duration_seconds vidzo_http_connections_open
vidzo_worker_queue_depth vidzo_db_query_duration_seconds vidzo_realtime_connections_open
vidzo_realtime_messages_delivered_total vidzo_realtime_rooms vidzo_ratelimit_rejected_total
vidzo_build_info process_resident_memory_bytes process_cpu_seconds_total up""".split()
dash = json.load(open(f"{here}/grafana/dashboards/vidzo.json"))
exprs = []
def walk(p):
    for t in p.get("targets", []): exprs.append(t["expr"])
    for q in p.get("panels", []): walk(q)
for p in dash["panels"]: walk(p)
for e in exprs:
    for m in re.findall(r"\b((?:vidzo|process)_[a-z_]+|up)\b(?=\s*[{\[)])", e):
        base = re.sub(r"_(bucket|sum|count)$", "", m)
        if m not in exported and base not in exported: fail.append(f"dashboard uses unknown metric {m}")
rules = {"groups": [{"name": "dashboard", "rules": [
    {"record": f"dashboard:expr{i}", "expr": e.replace("$__rate_interval", "1m").replace("$instance", ".*")}
    for i, e in enumerate(exprs)]}]}
json.dump(rules, open(f"{tmp}/dashboard-rules.json", "w"))
print(f"ok    dashboard JSON parses, {len(exprs)} expressions use only exported metrics")
if fail:
    print("\n".join("FAIL  " + x for x in fail)); sys.exit(1)
PY
else
  skip "YAML/k8s/dashboard checks (python3 with PyYAML missing)"
fi

if have promtool; then
  promtool check config "$here/prometheus/prometheus.yml" >/dev/null && ok "promtool check config (+ alerts.yml)"
  if [ -f "$tmp/dashboard-rules.json" ]; then
    cp "$tmp/dashboard-rules.json" "$tmp/dashboard-rules.yml"
    promtool check rules "$tmp/dashboard-rules.yml" >/dev/null && ok "promtool parses every dashboard expression"
  fi
else
  skip "promtool (apt-get install prometheus)"
fi

if have nginx && have unshare && [ "$(id -u)" = 0 ] && [ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ]; then
  mkdir -p "$tmp/varlib/nginx" "$tmp/varlib/vidzo/hls"
  printf '127.0.0.1 localhost\n' > "$tmp/hosts"
  for h in vidzo vidzo-lb nginx-rtmp; do echo "127.0.0.1 $h" >> "$tmp/hosts"; done
  for conf in nginx-lb/nginx.conf nginx-rtmp/nginx.conf; do
    unshare -m sh -c "mount --bind '$tmp/hosts' /etc/hosts && mount --bind '$tmp/varlib' /var/lib \
      && nginx -q -t -c '$here/$conf'" && ok "nginx -t $conf"
  done
else
  skip "nginx -t (needs root, unshare, nginx and libnginx-mod-rtmp)"
fi

if have kubectl; then
  kubectl kustomize "$here/k8s" >/dev/null && ok "kubectl kustomize deploy/k8s"
else
  skip "kustomize build (kubectl missing)"
fi
echo "deploy checks done"

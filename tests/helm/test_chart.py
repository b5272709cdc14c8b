"""The Helm chart helm/alipay-gateway, rendered offline with helm-python-sdk (Helm 4 as a library).

Every values file under the chart's ci/ is linted (strict), rendered, validated against the Kubernetes schemas of
the chart's oldest supported version and of 1.37 (kubernetes-validate --strict), and checked for the rules of
issue 11: restricted pod security, gRPC probes on numeric ports, ports, migration hooks, Secret wiring, HPA/PDB,
the ServiceMonitor (no bundled schema exists for it, so it is checked here), and values the schema must refuse.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import helm_python as helm
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "alipay-gateway"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
KUBERNETES_VALIDATE = Path(sys.executable).with_name("kubernetes-validate")
MINIMAL = {"secrets": {"databaseUrl": "postgres://gateway:pw@postgres:5432/gateway"}}


def load_values(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


def render(values: dict, **options) -> list[dict]:
    """Renders the chart as `helm install` would and returns the manifests (NOTES.txt and empty files left out)."""
    chart = helm.Chart.load(str(CHART))
    rendered = chart.render(values, name="pay", namespace="payments", is_install=True, **options)
    docs = []
    for path, text in rendered.items():
        if path.endswith("NOTES.txt"):
            continue
        docs.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return docs


def one(docs: list[dict], kind: str, name: str | None = None) -> dict:
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {[d['metadata']['name'] for d in found]}"
    return found[0]


def kinds(docs: list[dict]) -> set[str]:
    return {d["kind"] for d in docs}


def pod_specs(docs: list[dict]) -> list[tuple[str, dict]]:
    """(what, pod spec) of every pod the chart creates: Deployment, migration Job, helm test Pod."""
    specs = []
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            specs.append((f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]))
        elif doc["kind"] == "Pod":
            specs.append((f"Pod/{doc['metadata']['name']}", doc["spec"]))
    return specs


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def kube_version_floor() -> str:
    constraint = yaml.safe_load((CHART / "Chart.yaml").read_text())["kubeVersion"]
    match = re.search(r">=\s*v?(\d+)\.(\d+)", constraint)
    assert match, constraint
    return f"{match.group(1)}.{match.group(2)}.0"


@pytest.fixture(params=CI_VALUES, ids=lambda p: p.name)
def ci_values(request) -> dict:
    return load_values(request.param)


def test_ci_values_exist():
    assert len(CI_VALUES) >= 3, CI_VALUES


def test_lint_strict_has_no_errors_or_warnings(ci_values):
    report = helm.lint(str(CHART), ci_values, strict=True)
    assert report["errors"] == []
    serious = [m for m in report["messages"] if m["severity"] >= 2]
    assert serious == [], serious


@pytest.mark.parametrize("version", [kube_version_floor(), "1.37.0"])
def test_manifests_validate_against_kubernetes_schemas(ci_values, version, tmp_path):
    docs = [d for d in render(ci_values) if d["kind"] != "ServiceMonitor"]
    files = []
    for i, doc in enumerate(docs):
        path = tmp_path / f"{i:02d}-{doc['kind']}.yaml"
        path.write_text(yaml.safe_dump(doc))
        files.append(str(path))
    result = subprocess.run(
        [str(KUBERNETES_VALIDATE), "--strict", "--quiet", "-k", version, *files],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_pod_is_restricted(ci_values):
    for what, spec in pod_specs(render(ci_values)):
        assert spec["automountServiceAccountToken"] is False, what
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, what
        assert (pod["runAsUser"], pod["runAsGroup"], pod["fsGroup"]) == (65532, 65532, 65532), what
        assert pod["seccompProfile"]["type"] == "RuntimeDefault", what
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, what
            assert sc["readOnlyRootFilesystem"] is True, what
            assert sc["capabilities"]["drop"] == ["ALL"], what
            assert "privileged" not in sc or sc["privileged"] is False, what


def test_probes_are_grpc_on_the_numeric_port(ci_values):
    docs = render(ci_values)
    container = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    grpc_port = next(p["containerPort"] for p in container["ports"] if p["name"] == "grpc")
    services = {}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        check = container[probe]["grpc"]
        assert isinstance(check["port"], int) and check["port"] == grpc_port, (probe, check)
        assert set(container[probe]) - {"grpc"} <= {
            "initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold", "successThreshold",
            "terminationGracePeriodSeconds"}
        services[probe] = check["service"]
    # Readiness follows the store (the overall "" service); liveness does not (a restart cures no outage).
    assert services == {"startupProbe": "liveness", "readinessProbe": "", "livenessProbe": "liveness"}


def test_ports_follow_the_features():
    docs = render(MINIMAL)
    container = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert [(p["name"], p["containerPort"]) for p in container["ports"]] == [("grpc", 50051)]
    assert env_of(container)["ALIPAY_GATEWAY_NOTIFY_LISTEN"]["value"] == "off"
    assert "ALIPAY_GATEWAY_METRICS_LISTEN" not in env_of(container)
    assert "Ingress" not in kinds(docs) and "ServiceMonitor" not in kinds(docs)

    docs = render(load_values(CHART / "ci" / "production-values.yaml"))
    container = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"grpc": 50051, "http": 8080, "metrics": 9464}
    env = env_of(container)
    assert env["ALIPAY_GATEWAY_NOTIFY_LISTEN"]["value"] == "0.0.0.0:8080"
    assert env["ALIPAY_GATEWAY_NOTIFY_PUBLIC_BASE_URL"]["value"] == "https://pay.example.com"
    assert env["ALIPAY_GATEWAY_METRICS_LISTEN"]["value"] == "0.0.0.0:9464"
    assert env["ALIPAY_GATEWAY_LISTEN"]["value"] == "0.0.0.0:50051"
    service = one(docs, "Service", "pay-alipay-gateway")
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == ports

    # The ingress exposes the webhook path and nothing else.
    ingress = one(docs, "Ingress")
    paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert [(p["path"], p["pathType"]) for p in paths] == [("/alipay/notify", "Exact")]
    assert paths[0]["backend"]["service"] == {"name": "pay-alipay-gateway", "port": {"name": "http"}}


def test_telemetry_values_map_to_the_standard_otel_variables():
    env = env_of(one(render(load_values(CHART / "ci" / "production-values.yaml")), "Deployment")
                 ["spec"]["template"]["spec"]["containers"][0])
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"] == "http://otel-collector.observability.svc:4317"
    assert env["OTEL_TRACES_SAMPLER"]["value"] == "parentbased_traceidratio"
    assert env["OTEL_TRACES_SAMPLER_ARG"]["value"] == "0.2"
    assert env["OTEL_RESOURCE_ATTRIBUTES"]["value"] == "deployment.environment=production"
    assert env["OTEL_SERVICE_NAME"]["value"] == "pay-alipay-gateway"
    assert not any(name.startswith("OTEL_") for name in env_of(
        one(render(MINIMAL), "Deployment")["spec"]["template"]["spec"]["containers"][0]))


def test_service_monitor_selects_the_metrics_port_of_the_main_service():
    docs = render(load_values(CHART / "ci" / "production-values.yaml"))
    monitor = one(docs, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["payments"]}
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    for duration in (endpoint["interval"], endpoint["scrapeTimeout"]):
        assert re.fullmatch(r"[0-9]+(ms|s|m|h)", duration), duration
    selector = monitor["spec"]["selector"]["matchLabels"]
    services = [d for d in docs if d["kind"] == "Service"]
    selected = [s for s in services if selector.items() <= s["metadata"]["labels"].items()]
    assert [s["metadata"]["name"] for s in selected] == ["pay-alipay-gateway"], "one Service, not the headless one"
    assert "metrics" in {p["name"] for p in selected[0]["spec"]["ports"]}
    # Gated on values only, never on the cluster's CRDs.
    values = load_values(CHART / "ci" / "production-values.yaml")
    values["metrics"]["serviceMonitor"]["enabled"] = False
    assert "ServiceMonitor" not in kinds(render(values))


def test_migration_hook_runs_before_the_chart_secret_exists():
    docs = render(MINIMAL)
    job = one(docs, "Job")
    hook_secret = one(docs, "Secret", "pay-alipay-gateway-migrate")
    for doc in (job, hook_secret):
        annotations = doc["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    assert int(hook_secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        job["metadata"]["annotations"]["helm.sh/hook-weight"])
    # The hook Secret holds the database URL only; the Job uses none of the chart's non-hook objects.
    assert list(hook_secret["data"]) == ["database-url"]
    spec = job["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert container["args"] == ["migrate"]
    assert env_of(container)["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "pay-alipay-gateway-migrate", "key": "database-url"}
    assert "volumes" not in spec and "serviceAccountName" not in spec
    assert job["spec"]["backoffLimit"] == 3 and job["spec"]["activeDeadlineSeconds"] == 600
    # Its pods are not gateway pods: no Service or PDB selects them.
    selector = one(docs, "Deployment")["spec"]["selector"]["matchLabels"]
    assert not selector.items() <= spec_labels(job).items()
    # The gateway pods leave migrations to the hook.
    deployment = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert deployment["args"] == ["serve"]
    assert env_of(deployment)["ALIPAY_GATEWAY_NO_MIGRATE"]["value"] == "true"


def spec_labels(workload: dict) -> dict:
    return workload["spec"]["template"]["metadata"]["labels"]


def test_migration_modes_startup_and_none():
    docs = render(load_values(CHART / "ci" / "existing-secret-values.yaml"))
    assert "Job" not in kinds(docs)
    assert not [d for d in docs if d["kind"] == "Secret"], "existingSecret: the chart renders no Secret"
    container = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert "ALIPAY_GATEWAY_NO_MIGRATE" not in env_of(container), "startup: every pod migrates (advisory lock)"

    docs = render({**MINIMAL, "migrations": {"mode": "none"}})
    assert "Job" not in kinds(docs)
    assert "pay-alipay-gateway-migrate" not in {d["metadata"]["name"] for d in docs}
    container = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert env_of(container)["ALIPAY_GATEWAY_NO_MIGRATE"]["value"] == "true"

    docs = render({"existingSecret": "keys", "migrations": {"mode": "hook"}})
    assert env_of(one(docs, "Job")["spec"]["template"]["spec"]["containers"][0])["DATABASE_URL"]["valueFrom"][
        "secretKeyRef"]["name"] == "keys"
    assert "Secret" not in kinds(docs)


def test_secret_wiring_and_key_files():
    values = load_values(CHART / "ci" / "production-values.yaml")
    docs = render(values)
    secret = one(docs, "Secret", "pay-alipay-gateway")
    assert set(secret["data"]) == {"database-url", "merchant-private-key.pem", "alipay-public-key.pem", "token-key"}
    spec = one(docs, "Deployment")["spec"]["template"]["spec"]
    container = spec["containers"][0]
    env = env_of(container)
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "pay-alipay-gateway", "key": "database-url"}
    assert all("value" not in e or "postgres://" not in e["value"] for e in env.values()), "no URL in plain env"
    volume = next(v for v in spec["volumes"] if v["name"] == "secrets")
    assert volume["secret"] == {"secretName": "pay-alipay-gateway", "defaultMode": 0o400}
    mount = next(m for m in container["volumeMounts"] if m["name"] == "secrets")
    assert mount["readOnly"] is True
    for variable, key in [
        ("ALIPAY_GATEWAY_MERCHANT_PRIVATE_KEY_FILE", "merchant-private-key.pem"),
        ("ALIPAY_GATEWAY_ALIPAY_PUBLIC_KEY_FILE", "alipay-public-key.pem"),
        ("ALIPAY_GATEWAY_TOKEN_KEY_FILE", "token-key"),
    ]:
        assert env[variable]["value"] == f"{mount['mountPath']}/{key}"
    config = one(docs, "ConfigMap")["data"]["config.toml"]
    assert 'upstream = "https://open-sea-global.alipay.com"' in config
    assert 'shutdown_grace = "40s"' in config
    assert env["ALIPAY_GATEWAY_CONFIG"]["value"] == "/etc/alipay-gateway/config.toml"

    # Checksums roll the pods when a setting or a key changes.
    annotations = spec_annotations(docs)
    changed = copy.deepcopy(values)
    changed["config"]["log_level"] = "debug"
    assert spec_annotations(render(changed))["checksum/config"] != annotations["checksum/config"]
    changed = copy.deepcopy(values)
    changed["secrets"]["tokenKey"] = "BBECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    assert spec_annotations(render(changed))["checksum/secret"] != annotations["checksum/secret"]


def spec_annotations(docs: list[dict]) -> dict:
    return one(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]


def test_config_renders_as_the_same_toml(ci_values):
    values = {**ci_values, "config": {**ci_values.get("config", {}), "max_inquiries": 20, "key_version": 2}}
    config = one(render(values), "ConfigMap")["data"]["config.toml"]
    expected = {"log_format": "json", "log_level": "info", **values["config"]}
    assert tomllib.loads(config) == expected, config


def test_config_keys_are_gateway_settings():
    """The schema's `config` keys must be settings the gateway's TOML file accepts (it rejects unknown keys)."""
    source = (ROOT / "src" / "config" / "catalog.rs").read_text()
    block = re.search(r"^settings! \{(.*?)\n\}", source, re.S | re.M)
    assert block, "the settings! declarations not found in src/config/catalog.rs"
    settings = set(re.findall(r"^    (\w+): ", block.group(1), re.M))
    schema = json.loads((CHART / "values.schema.json").read_text())
    keys = set(schema["properties"]["config"]["properties"])
    assert keys <= settings, keys - settings
    # What the chart sets itself is not offered twice.
    assert not keys & {"listen", "database_url", "no_migrate", "merchant_private_key_file", "alipay_public_key_file",
                       "token_key", "token_key_file", "grpc_max_connection_age", "config"}


def test_sandbox_mode_sets_no_key_files():
    container = one(render(MINIMAL), "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert not [name for name in env_of(container) if name.endswith("_KEY_FILE")]


def test_replicas_hpa_and_pdb():
    docs = render(MINIMAL)
    assert one(docs, "Deployment")["spec"]["replicas"] == 2
    assert one(docs, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    assert "HorizontalPodAutoscaler" not in kinds(docs)

    docs = render(load_values(CHART / "ci" / "production-values.yaml"))
    assert "replicas" not in one(docs, "Deployment")["spec"], "the HPA owns the replica count"
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 10)
    assert hpa["spec"]["scaleTargetRef"]["name"] == one(docs, "Deployment")["metadata"]["name"]

    pdb = one(render(load_values(CHART / "ci" / "existing-secret-values.yaml")), "PodDisruptionBudget")
    assert pdb["spec"] == {"minAvailable": 2, "selector": pdb["spec"]["selector"]}
    assert "PodDisruptionBudget" not in kinds(render({**MINIMAL, "pdb": {"enabled": False}}))


def test_network_policy_allows_dns_postgres_alipay_and_otlp():
    docs = render(load_values(CHART / "ci" / "production-values.yaml"))
    policy = one(docs, "NetworkPolicy")
    egress_ports = [sorted((p["port"], p["protocol"]) for p in rule["ports"]) for rule in policy["spec"]["egress"]]
    assert [(53, "TCP"), (53, "UDP")] in egress_ports
    assert [(5432, "TCP")] in egress_ports
    assert [(443, "TCP")] in egress_ports
    assert [(4317, "TCP")] in egress_ports
    assert "NetworkPolicy" not in kinds(render(MINIMAL)), "off by default"


def test_grace_period_is_above_shutdown_grace():
    for values in [MINIMAL] + [load_values(p) for p in CI_VALUES]:
        spec = one(render(values), "Deployment")["spec"]["template"]["spec"]
        grace = values.get("config", {}).get("shutdown_grace", "30s")
        assert spec["terminationGracePeriodSeconds"] > int(grace.rstrip("s")), values
    with pytest.raises(helm.HelmRenderError, match="shutdown_grace"):
        render({**MINIMAL, "terminationGracePeriodSeconds": 30})
    with pytest.raises(helm.HelmRenderError, match="shutdown_grace"):
        render({**MINIMAL, "config": {"shutdown_grace": "2m"}, "terminationGracePeriodSeconds": 90})


def test_helm_test_pod_checks_health_through_the_service():
    pod = one(render(MINIMAL), "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["containers"][0]["args"] == ["healthcheck", "--addr", "pay-alipay-gateway:50051"]


@pytest.mark.parametrize(
    "bad",
    [
        {"replicas": 3},  # unknown top-level key (a typo of replicaCount)
        {"replicaCount": "two"},
        {"image": {"repository": "x", "tag": "1", "registry": "y"}},
        {"config": {"listen": "0.0.0.0:1"}},  # chart-managed, not a config key
        {"config": {"log_format": "xml"}},
        {"migrations": {"mode": "sometimes"}},
        {"grpc": {"maxConnectionAge": "soon"}},
        {"service": {"grpcPort": 70000}},
        {"readinessProbe": {"grpc": {"port": "grpc"}}},  # the chart owns the check; named ports are invalid
        {"webhooks": {"enabled": True, "publicBaseUrl": "http://insecure.example"}},
    ],
)
def test_bad_values_are_rejected_by_the_schema(bad):
    with pytest.raises(helm.HelmValuesError):
        render({**MINIMAL, **bad})


def test_global_is_accepted():
    render({**MINIMAL, "global": {"imageRegistry": "mirror.example"}})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "databaseUrl"),
        ({"secrets": {"databaseUrl": "sqlite://data/gateway.db"}}, "postgres"),
        ({**MINIMAL, "config": {"upstream": "https://open-na-global.alipay.com"}}, "merchantPrivateKey"),
        ({**MINIMAL, "ingress": {"enabled": True}}, "webhooks.enabled"),
    ],
)
def test_inconsistent_values_fail_with_a_message(values, message):
    with pytest.raises(helm.HelmRenderError, match=message):
        render(values)

{{/* Names and labels. */}}
{{- define "alipay-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "alipay-gateway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The release's pods and objects; a component label tells the gateway, migration and test pods apart. */}}
{{- define "alipay-gateway.instanceLabels" -}}
app.kubernetes.io/name: {{ include "alipay-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The gateway pods only (not the migration Job's nor the test's): Deployment, Services, PDB, NetworkPolicy. */}}
{{- define "alipay-gateway.selectorLabels" -}}
{{ include "alipay-gateway.instanceLabels" . }}
app.kubernetes.io/component: gateway
{{- end }}

{{- define "alipay-gateway.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "alipay-gateway.instanceLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "alipay-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "alipay-gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "alipay-gateway.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The Secret holding the database URL and the keys: the user's, or the chart's. */}}
{{- define "alipay-gateway.secretName" -}}
{{- default (include "alipay-gateway.fullname" .) .Values.existingSecret }}
{{- end }}

{{/* The Secret the migration hook reads: the user's, or a hook Secret holding only the database URL (the chart's
     own Secret does not exist yet when a pre-install hook runs). */}}
{{- define "alipay-gateway.migrateSecretName" -}}
{{- default (printf "%s-migrate" (include "alipay-gateway.fullname" .)) .Values.existingSecret }}
{{- end }}

{{- define "alipay-gateway.realUpstream" -}}
{{- $upstream := default "sandbox" .Values.config.upstream }}
{{- if ne $upstream "sandbox" }}true{{ end }}
{{- end }}

{{/* shutdown_grace in whole seconds (ceiling), from config.shutdown_grace (250ms, 15s, 2m, 1h, bare seconds). */}}
{{- define "alipay-gateway.shutdownGraceSeconds" -}}
{{- $text := toString (default "30s" .Values.config.shutdown_grace) }}
{{- $n := regexFind "^[0-9]+" $text | int64 }}
{{- $unit := trimPrefix (regexFind "^[0-9]+" $text) $text }}
{{- if eq $unit "ms" }}{{ div (add $n 999) 1000 }}
{{- else if eq $unit "m" }}{{ mul $n 60 }}
{{- else if eq $unit "h" }}{{ mul $n 3600 }}
{{- else }}{{ $n }}
{{- end }}
{{- end }}

{{/* The container and pod security contexts of every pod of the chart (restricted Pod Security). */}}
{{- define "alipay-gateway.podSecurity" -}}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
The environment of every gateway container: the Deployment's and (with `migrate` true) the migration Job's.
Arguments: a dict with "root" (the chart context), "secret" (the Secret holding the database URL) and "migrate".
*/}}
{{- define "alipay-gateway.env" -}}
{{- $v := .root.Values -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ $v.secretKeys.databaseUrl }}
- name: ALIPAY_GATEWAY_LOG
  value: {{ default "info" $v.config.log_level | quote }}
{{- if not .migrate }}
- name: ALIPAY_GATEWAY_CONFIG
  value: /etc/alipay-gateway/config.toml
- name: ALIPAY_GATEWAY_LISTEN
  value: {{ printf "0.0.0.0:%d" (int $v.service.grpcPort) | quote }}
{{- if ne $v.migrations.mode "startup" }}
- name: ALIPAY_GATEWAY_NO_MIGRATE
  value: "true"
{{- end }}
{{- with $v.grpc.maxConnectionAge }}
- name: ALIPAY_GATEWAY_GRPC_MAX_CONNECTION_AGE
  value: {{ . | quote }}
{{- end }}
- name: ALIPAY_GATEWAY_NOTIFY_LISTEN
  value: {{ ternary (printf "0.0.0.0:%d" (int $v.service.httpPort)) "off" $v.webhooks.enabled | quote }}
{{- if and $v.webhooks.enabled $v.webhooks.publicBaseUrl }}
- name: ALIPAY_GATEWAY_NOTIFY_PUBLIC_BASE_URL
  value: {{ $v.webhooks.publicBaseUrl | quote }}
{{- end }}
{{- if $v.metrics.enabled }}
- name: ALIPAY_GATEWAY_METRICS_LISTEN
  value: {{ printf "0.0.0.0:%d" (int $v.metrics.port) | quote }}
{{- end }}
{{- $real := include "alipay-gateway.realUpstream" .root }}
{{- if or $real $v.secrets.merchantPrivateKey }}
- name: ALIPAY_GATEWAY_MERCHANT_PRIVATE_KEY_FILE
  value: /etc/alipay-gateway/secrets/{{ $v.secretKeys.merchantPrivateKey }}
{{- end }}
{{- if or $real $v.secrets.alipayPublicKey }}
- name: ALIPAY_GATEWAY_ALIPAY_PUBLIC_KEY_FILE
  value: /etc/alipay-gateway/secrets/{{ $v.secretKeys.alipayPublicKey }}
{{- end }}
{{- if or $real $v.secrets.tokenKey }}
- name: ALIPAY_GATEWAY_TOKEN_KEY_FILE
  value: /etc/alipay-gateway/secrets/{{ $v.secretKeys.tokenKey }}
{{- end }}
{{- with $v.telemetry }}
{{- if .otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .otlpEndpoint | quote }}
- name: OTEL_SERVICE_NAME
  value: {{ include "alipay-gateway.fullname" $.root | quote }}
{{- with .sampler.name }}
- name: OTEL_TRACES_SAMPLER
  value: {{ . | quote }}
{{- end }}
{{- with .sampler.arg }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ . | quote }}
{{- end }}
{{- with .resourceAttributes }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ include "alipay-gateway.resourceAttributes" . | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "alipay-gateway.resourceAttributes" -}}
{{- $pairs := list }}
{{- range $key, $value := . }}
{{- $pairs = append $pairs (printf "%s=%s" $key (toString $value)) }}
{{- end }}
{{- join "," $pairs }}
{{- end }}

{{/* Volumes of the gateway pods: the TOML config, the keys (files, 0400), a scratch /tmp, the user's extras. */}}
{{- define "alipay-gateway.volumes" -}}
- name: config
  configMap:
    name: {{ include "alipay-gateway.fullname" . }}
- name: secrets
  secret:
    secretName: {{ include "alipay-gateway.secretName" . }}
    defaultMode: 0400
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "alipay-gateway.volumeMounts" -}}
- name: config
  mountPath: /etc/alipay-gateway/config.toml
  subPath: config.toml
  readOnly: true
- name: secrets
  mountPath: /etc/alipay-gateway/secrets
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* A gRPC probe on the gateway's numeric port (named ports are invalid for grpc probes). */}}
{{- define "alipay-gateway.probe" -}}
grpc:
  port: {{ int .root.Values.service.grpcPort }}
  service: {{ .service | quote }}
{{- with .timings }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Fails rendering on combinations the schema cannot express. */}}
{{- define "alipay-gateway.validate" -}}
{{- if and (not .Values.existingSecret) (not .Values.secrets.databaseUrl) }}
{{- fail "secrets.databaseUrl (a postgres:// URL) or existingSecret is required: replicas share one PostgreSQL" }}
{{- end }}
{{- if and .Values.secrets.databaseUrl (not (regexMatch "^postgres(ql)?://" .Values.secrets.databaseUrl)) }}
{{- fail "secrets.databaseUrl must be a postgres:// URL (SQLite cannot be shared by replicas)" }}
{{- end }}
{{- if and (include "alipay-gateway.realUpstream" .) (not .Values.existingSecret) (or (not .Values.secrets.merchantPrivateKey) (not .Values.secrets.alipayPublicKey) (not .Values.secrets.tokenKey)) }}
{{- fail "a real config.upstream needs secrets.merchantPrivateKey, secrets.alipayPublicKey and secrets.tokenKey (or existingSecret)" }}
{{- end }}
{{- if le (int .Values.terminationGracePeriodSeconds) (int (include "alipay-gateway.shutdownGraceSeconds" .)) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be above the gateway's shutdown_grace (%ss)" (int .Values.terminationGracePeriodSeconds) (include "alipay-gateway.shutdownGraceSeconds" .)) }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.webhooks.enabled) }}
{{- fail "ingress.enabled needs webhooks.enabled: the ingress exposes only the webhook path" }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.metrics.enabled) }}
{{- fail "metrics.serviceMonitor.enabled needs metrics.enabled" }}
{{- end }}
{{- end }}

{{/*
Helpers shared by every template. Names start with `inferwatch.` so they never collide
with a parent chart's.
*/}}

{{/* The services the chart can deploy as Deployments, in start order. */}}
{{- define "inferwatch.serviceComponents" -}}
collector drift rules actions
{{- end }}

{{/* The chart name, or nameOverride. */}}
{{- define "inferwatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name: fullnameOverride, or "<release>-<chart>" unless the release already holds the chart name. */}}
{{- define "inferwatch.fullname" -}}
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

{{/* "<fullname>-<component>"; call with (dict "root" $ "component" "drift"). */}}
{{- define "inferwatch.componentName" -}}
{{- printf "%s-%s" (include "inferwatch.fullname" .root | trunc 50 | trimSuffix "-") .component }}
{{- end }}

{{/* Chart label value. */}}
{{- define "inferwatch.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every resource carries. */}}
{{- define "inferwatch.labels" -}}
helm.sh/chart: {{ include "inferwatch.chart" . }}
app.kubernetes.io/name: {{ include "inferwatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: inferwatch
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component; call with (dict "root" $ "component" "drift"). */}}
{{- define "inferwatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "inferwatch.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Labels of one component's resources. */}}
{{- define "inferwatch.componentLabels" -}}
{{ include "inferwatch.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Labels of the Prometheus Operator objects: component labels plus monitoring.additionalLabels. */}}
{{- define "inferwatch.monitoringLabels" -}}
{{ include "inferwatch.labels" . }}
{{- with .Values.monitoring.additionalLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The image reference: repository@digest or repository:tag (appVersion by default). */}}
{{- define "inferwatch.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* ServiceAccount name of one component (a part's, in mode single, is the server's). */}}
{{- define "inferwatch.serviceAccountName" -}}
{{- if .root.Values.serviceAccount.create }}
{{- include "inferwatch.componentName" (dict "root" .root "component" (include "inferwatch.workloadOf" .)) }}
{{- else }}
{{- "default" }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding the API token (existing or chart-made). */}}
{{- define "inferwatch.authSecretName" -}}
{{- default (printf "%s-auth" (include "inferwatch.fullname" .)) .Values.auth.existingSecret }}
{{- end }}

{{/* Name of the settings ConfigMap. */}}
{{- define "inferwatch.configName" -}}
{{- printf "%s-config" (include "inferwatch.fullname" .) }}
{{- end }}

{{/* Non-empty in mode distributed (one Deployment per part). */}}
{{- define "inferwatch.distributed" -}}
{{- if eq .Values.mode "distributed" }}true{{ end }}
{{- end }}

{{/* The enabled parts (collector drift rules actions), space-separated. */}}
{{- define "inferwatch.enabledParts" -}}
{{- $enabled := list }}
{{- range $part := splitList " " (include "inferwatch.serviceComponents" .) }}
{{- if (index $.Values $part).enabled }}
{{- $enabled = append $enabled $part }}
{{- end }}
{{- end }}
{{- join " " $enabled }}
{{- end }}

{{/*
The Deployments (each with its Service, ServiceAccount, ServiceMonitor), space-separated:
mode single runs every enabled part in one "server"; mode distributed one per enabled part.
*/}}
{{- define "inferwatch.workloads" -}}
{{- $parts := include "inferwatch.enabledParts" . }}
{{- if include "inferwatch.distributed" . }}
{{- $parts }}
{{- else if $parts }}
{{- "server" }}
{{- end }}
{{- end }}

{{/* The workload serving one component: a part runs in "server" in mode single; call with (dict "root" $ "component" "actions"). */}}
{{- define "inferwatch.workloadOf" -}}
{{- if and (not (include "inferwatch.distributed" .root)) (has .component (splitList " " (include "inferwatch.serviceComponents" .root))) }}
{{- "server" }}
{{- else }}
{{- .component }}
{{- end }}
{{- end }}

{{/* "true" when this workload runs the actions receiver, the only part that calls the Kubernetes API (its token is mounted); call with (dict "root" $ "component" "server"). */}}
{{- define "inferwatch.mountsToken" -}}
{{- and .root.Values.actions.enabled (eq (include "inferwatch.workloadOf" (dict "root" .root "component" "actions")) .component) }}
{{- end }}

{{/* The PVC of mode single: single.persistence.existingClaim or "<fullname>-data". */}}
{{- define "inferwatch.claimName" -}}
{{- default (printf "%s-data" (include "inferwatch.fullname" .)) .Values.single.persistence.existingClaim }}
{{- end }}

{{/* Non-empty when mode single keeps SQLite on a PVC (persistence on, no external database). */}}
{{- define "inferwatch.usesClaim" -}}
{{- if and (not (include "inferwatch.distributed" .)) .Values.single.persistence.enabled (not (include "inferwatch.externalDatabase" .)) }}true{{ end }}
{{- end }}

{{/* Non-empty when the state store is an external database (URL or Secret). */}}
{{- define "inferwatch.externalDatabase" -}}
{{- if or .Values.database.url .Values.database.existingSecret }}true{{ end }}
{{- end }}

{{/*
Refuse, at render time, the combinations that deploy something broken, saying what to set.
(values.schema.json checks each value alone; these span several.)
*/}}
{{- define "inferwatch.validate" -}}
{{- $url := .Values.database.url }}
{{- range $part := splitList " " (include "inferwatch.serviceComponents" .) }}
{{- if hasKey (index $.Values $part) "persistence" }}
{{- fail (printf "%s.persistence was removed in chart 0.2.0: mode=single keeps every part's SQLite state on one claim, set single.persistence instead; mode=distributed keeps state in PostgreSQL (database.existingSecret)" $part) }}
{{- end }}
{{- end }}
{{- if include "inferwatch.distributed" . }}
{{- if hasPrefix "sqlite:" $url }}
{{- fail (printf "database.url=%s is SQLite, which one process owns: mode=distributed needs PostgreSQL. Set database.existingSecret (and database.secretKey) to a Secret holding postgresql+psycopg://USER:PASSWORD@HOST:5432/DB and leave database.url empty, or set mode=single" $url) }}
{{- end }}
{{- if $url }}
{{- fail "mode=distributed reads the PostgreSQL URL from a Secret, not from values: move database.url into a Secret and set database.existingSecret (and database.secretKey), leaving database.url empty" }}
{{- end }}
{{- if not .Values.database.existingSecret }}
{{- fail "mode=distributed keeps every part's state in PostgreSQL: set database.existingSecret (and database.secretKey, default database-url) to a Secret holding postgresql+psycopg://USER:PASSWORD@HOST:5432/DB (docs/helm.md: CloudNativePG), or set mode=single" }}
{{- end }}
{{- else }}
{{- range $part := splitList " " (include "inferwatch.serviceComponents" .) }}
{{- $replicas := int (index $.Values $part).replicas }}
{{- if ne $replicas 1 }}
{{- fail (printf "%s.replicas=%d, but mode=single runs every part in one pod (SQLite, one writer): replicas are fixed at 1. For more replicas set mode=distributed with database.existingSecret naming a PostgreSQL URL (postgresql+psycopg://...); to leave a part out set %s.enabled=false" $part $replicas $part) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Environment every inferwatch container gets: bind, token, state, logs, Alertmanager.
Call with the root context.
*/}}
{{- define "inferwatch.env" -}}
- name: INFERWATCH_CONFIG
  value: /etc/inferwatch/config.yaml
- name: INFERWATCH_SERVER__HOST
  value: "0.0.0.0"
- name: INFERWATCH_SERVER__PORT
  value: {{ .Values.server.port | quote }}
{{- if .Values.server.publicUrl }}
- name: INFERWATCH_SERVER__PUBLIC_URL
  value: {{ .Values.server.publicUrl | quote }}
{{- end }}
{{- if .Values.auth.allowPublicWithoutToken }}
- name: INFERWATCH_SERVER__ALLOW_PUBLIC_WITHOUT_TOKEN
  value: "true"
{{- else }}
- name: INFERWATCH_SERVER__API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "inferwatch.authSecretName" . }}
      key: {{ .Values.auth.secretKey }}
{{- if .Values.auth.readTokenKey }}
{{- if not .Values.auth.existingSecret }}
{{- fail "auth.readTokenKey names a key of auth.existingSecret; set auth.existingSecret too" }}
{{- end }}
- name: INFERWATCH_SERVER__READ_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .Values.auth.existingSecret }}
      key: {{ .Values.auth.readTokenKey }}
{{- end }}
{{- end }}
- name: INFERWATCH_DATA_DIR
  value: /var/lib/inferwatch
{{- if .Values.database.existingSecret }}
- name: INFERWATCH_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret }}
      key: {{ .Values.database.secretKey }}
{{- else if .Values.database.url }}
- name: INFERWATCH_DATABASE_URL
  value: {{ .Values.database.url | quote }}
{{- end }}
- name: INFERWATCH_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: INFERWATCH_LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
{{- if .Values.alertmanager.url }}
- name: INFERWATCH_ALERTS__ALERTMANAGER_URL
  value: {{ .Values.alertmanager.url | quote }}
{{- end }}
{{- end }}

{{/*
What one component needs beyond the common environment; call with (dict "root" $ "component" "drift").
*/}}
{{- define "inferwatch.componentEnv" -}}
{{- $values := .root.Values }}
{{- if and (eq .component "rules") $values.prometheus.url }}
- name: INFERWATCH_ALERTS__RULES__QUERY_URL
  value: {{ $values.prometheus.url | quote }}
{{- end }}
{{- if and (eq .component "rules") (include "inferwatch.prometheusRules" .root) }}
# Prometheus evaluates the shipped rules (PrometheusRule); evaluating them here too would
# send every alert twice.
- name: INFERWATCH_ALERTS__RULES__INCLUDE_DEFAULT_RULES
  value: "false"
{{- end }}
{{- if and (eq .component "drift") (eq $values.drift.windows "prometheus") }}
- name: INFERWATCH_DRIFT__PROMETHEUS_URL
  value: {{ required "drift.windows=prometheus reads the recorders' series: set prometheus.url" $values.prometheus.url | quote }}
{{- end }}
{{- if eq .component "actions" }}
- name: INFERWATCH_ALERTS__ACTIONS__DRY_RUN
  value: {{ $values.actions.dryRun | quote }}
{{- if $values.actions.policy }}
- name: INFERWATCH_ALERTS__ACTIONS__POLICY_FILE
  value: /etc/inferwatch/actions-policy.yaml
{{- end }}
{{- end }}
{{- end }}

{{/*
What one workload needs beyond the common environment; call with (dict "root" $ "component" "server").
The server (mode single) runs `inferwatch up`: it is told which parts to run, never the GPU
exporter (a DaemonSet on GPU nodes), and its drift engine reads the collector's windows in
process, so it gets no Prometheus URL.
*/}}
{{- define "inferwatch.workloadEnv" -}}
{{- if eq .component "server" }}
{{- $values := .root.Values }}
- name: INFERWATCH_COLLECTOR__ENABLED
  value: {{ $values.collector.enabled | quote }}
- name: INFERWATCH_DRIFT__ENABLED
  value: {{ $values.drift.enabled | quote }}
- name: INFERWATCH_ALERTS__RULES__ENABLED
  value: {{ $values.rules.enabled | quote }}
- name: INFERWATCH_ALERTS__ACTIONS__ENABLED
  value: {{ $values.actions.enabled | quote }}
- name: INFERWATCH_EXPORTERS__ENABLED
  value: "false"
{{- range $part := splitList " " (include "inferwatch.enabledParts" .root) }}
{{- if ne $part "drift" }}
{{- include "inferwatch.componentEnv" (dict "root" $.root "component" $part) }}
{{- end }}
{{- end }}
{{- else }}
{{- include "inferwatch.componentEnv" . }}
{{- end }}
{{- end }}

{{/* Probes on /healthz (liveness) and /readyz (readiness). */}}
{{- define "inferwatch.probes" -}}
startupProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: 5
  failureThreshold: 30
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: 20
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: http
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
{{- end }}

{{/* Non-empty when the chart makes PrometheusRules (enabled, rule files present, the operator's API served). */}}
{{- define "inferwatch.prometheusRules" -}}
{{- if and .Values.monitoring.prometheusRule.enabled (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1") (len (.Files.Glob "rules/*.yaml")) }}true{{ end }}
{{- end }}

{{/* In-cluster URL of the Service serving one component (in mode single, a part's is the server's). */}}
{{- define "inferwatch.serviceUrl" -}}
{{- $workload := dict "root" .root "component" (include "inferwatch.workloadOf" .) }}
{{- printf "http://%s.%s.svc:%v" (include "inferwatch.componentName" $workload) .root.Release.Namespace .root.Values.service.port }}
{{- end }}

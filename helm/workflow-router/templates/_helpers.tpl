{{/*
Names. The router's Service is named "<fullname>" (it is the endpoint users reach); every
other object is "<fullname>-<component>".
*/}}
{{- define "wr.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "wr.fullname" -}}
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

{{/* "<fullname>-<component>", kept within 63 characters. */}}
{{- define "wr.componentName" -}}
{{- printf "%s-%s" (include "wr.fullname" .root | trunc (int (sub 62 (len .component))) | trimSuffix "-") .component }}
{{- end }}

{{- define "wr.routerName" -}}{{ include "wr.componentName" (dict "root" . "component" "router") }}{{- end }}
{{- define "wr.operatorName" -}}{{ include "wr.componentName" (dict "root" . "component" "operator") }}{{- end }}
{{- define "wr.redisName" -}}{{ include "wr.componentName" (dict "root" . "component" "redis") }}{{- end }}

{{- define "wr.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object; call with (dict "root" $ "component" "router"). */}}
{{- define "wr.labels" -}}
helm.sh/chart: {{ include "wr.chart" .root }}
{{ include "wr.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: workflow-router
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "wr.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wr.name" .root | quote }}
app.kubernetes.io/instance: {{ .root.Release.Name | quote }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The one image of the three programs (the entrypoint runs the program named by args[0]). */}}
{{- define "wr.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "wr.routerServiceAccountName" -}}
{{- if .Values.router.serviceAccount.create }}
{{- default (include "wr.routerName" .) .Values.router.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.router.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "wr.operatorServiceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (include "wr.operatorName" .) .Values.operator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "wr.leaseName" -}}
{{- default (include "wr.operatorName" .) .Values.operator.leaderElection.leaseName }}
{{- end }}

{{/* Secret holding the bundled Redis password. */}}
{{- define "wr.redisPasswordSecret" -}}
{{- default (include "wr.redisName" .) .Values.redis.bundled.auth.existingSecret }}
{{- end }}

{{/* Secret holding the external Redis URL (the user's, or the chart's made from redis.external.url). */}}
{{- define "wr.redisUrlSecret" -}}
{{- default (include "wr.redisName" .) .Values.redis.external.existingSecret }}
{{- end }}

{{- define "wr.redisHost" -}}
{{- printf "%s.%s.svc" (include "wr.redisName" .) .Release.Namespace }}
{{- end }}

{{/*
How routers and the operator reach Redis: flags for Sentinel and Cluster seeds and the key
prefix; the URL (which may hold a password) always comes from a Secret through the
WORKFLOW_<PROGRAM>_REDIS_URL variable. Call with (dict "root" $ "program" "ROUTER").
*/}}
{{- define "wr.redisArgs" -}}
{{- $r := .root.Values.redis }}
- {{ include "wr.arg" (list "redis-prefix" ($r.prefix)) }}
{{- if eq $r.mode "external" }}
{{- if $r.external.sentinel.hosts }}
- {{ include "wr.arg" (list "redis-sentinels" (join "," $r.external.sentinel.hosts)) }}
- {{ include "wr.arg" (list "redis-sentinel-name" (required "redis.external.sentinel.masterName is required with redis.external.sentinel.hosts" $r.external.sentinel.masterName)) }}
{{- end }}
{{- if $r.external.cluster.nodes }}
- {{ include "wr.arg" (list "redis-cluster-nodes" (join "," $r.external.cluster.nodes)) }}
{{- end }}
{{- if $r.external.auth.username }}
- {{ include "wr.arg" (list "redis-username" $r.external.auth.username) }}
{{- end }}
{{- if $r.external.tls }}
- --redis-tls
{{- end }}
{{- end }}
{{- end }}

{{- define "wr.redisEnv" -}}
{{- $r := .root.Values.redis }}
{{- if eq $r.mode "bundled" }}
{{- if $r.bundled.auth.enabled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "wr.redisPasswordSecret" .root | quote }}
      key: {{ $r.bundled.auth.existingSecretKey | quote }}
- name: WORKFLOW_{{ .program }}_REDIS_URL
  value: "redis://:$(REDIS_PASSWORD)@{{ include "wr.redisHost" .root }}:6379"
{{- else }}
- name: WORKFLOW_{{ .program }}_REDIS_URL
  value: "redis://{{ include "wr.redisHost" .root }}:6379"
{{- end }}
{{- else if or $r.external.url $r.external.existingSecret }}
- name: WORKFLOW_{{ .program }}_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "wr.redisUrlSecret" .root | quote }}
      key: {{ $r.external.existingSecretKey | quote }}
{{- end }}
{{- if and (eq $r.mode "external") $r.external.auth.existingSecret }}
- name: WORKFLOW_{{ .program }}_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $r.external.auth.existingSecret | quote }}
      key: {{ $r.external.auth.passwordKey | quote }}
{{- if $r.external.auth.sentinelPasswordKey }}
- name: WORKFLOW_{{ .program }}_REDIS_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $r.external.auth.existingSecret | quote }}
      key: {{ $r.external.auth.sentinelPasswordKey | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* Fails the render on combinations the programs would refuse at start. */}}
{{- define "wr.validate" -}}
{{- $r := .Values.redis }}
{{- if eq $r.mode "external" }}
{{- if not (or $r.external.url $r.external.existingSecret $r.external.sentinel.hosts $r.external.cluster.nodes) }}
{{- fail "redis.mode=external needs redis.external.url, redis.external.existingSecret, redis.external.sentinel.hosts or redis.external.cluster.nodes" }}
{{- end }}
{{- if and $r.external.url $r.external.existingSecret }}
{{- fail "set either redis.external.url or redis.external.existingSecret, not both" }}
{{- end }}
{{- if and $r.external.sentinel.hosts $r.external.cluster.nodes }}
{{- fail "set either redis.external.sentinel.hosts or redis.external.cluster.nodes, not both" }}
{{- end }}
{{- end }}
{{- if and (eq .Values.router.serviceDiscovery "static") (not .Values.router.staticBackends) }}
{{- fail "router.serviceDiscovery=static needs router.staticBackends (the vLLM base URLs)" }}
{{- end }}
{{- if and .Values.operator.enabled (gt (int .Values.operator.replicaCount) 1) (not .Values.operator.leaderElection.enabled) }}
{{- fail "operator.replicaCount > 1 needs operator.leaderElection.enabled=true (one active operator)" }}
{{- end }}
{{- $le := .Values.operator.leaderElection }}
{{- if not (lt (float64 $le.renewDeadlineSeconds) (float64 $le.leaseDurationSeconds)) }}
{{- fail "operator.leaderElection.renewDeadlineSeconds must be less than leaseDurationSeconds" }}
{{- end }}
{{- if not (lt (float64 $le.retryPeriodSeconds) (float64 $le.renewDeadlineSeconds)) }}
{{- fail "operator.leaderElection.retryPeriodSeconds must be less than renewDeadlineSeconds" }}
{{- end }}
{{- $k := .Values.router.apiKeys }}
{{- if and $k.enabled (not (or $k.existingSecret $k.keys)) }}
{{- fail "router.apiKeys.enabled needs router.apiKeys.existingSecret or router.apiKeys.keys" }}
{{- end }}
{{- if and $k.existingSecret (or $k.keys $k.tenants) }}
{{- fail "router.apiKeys.keys and tenants are for a chart-made Secret: leave them empty with router.apiKeys.existingSecret" }}
{{- end }}
{{- $pdb := .Values.router.podDisruptionBudget }}
{{- if and $pdb.enabled (not (kindIs "invalid" $pdb.minAvailable)) (not (kindIs "invalid" $pdb.maxUnavailable)) }}
{{- fail "router.podDisruptionBudget: set minAvailable or maxUnavailable, not both" }}
{{- end }}
{{- end }}

{{/* The writable scratch directory of a read-only root filesystem. */}}
{{- define "wr.tmpVolume" -}}
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: 64Mi
{{- end }}

{{/*
One command-line flag as a quoted "--name=value" argument, from (list "name" value). Whole
numbers print without a decimal point or exponent (values.yaml numbers are float64).
*/}}
{{- define "wr.arg" -}}
{{- $v := index . 1 }}
{{- if and (kindIs "float64" $v) (eq $v (float64 (int64 $v))) }}
{{- $v = int64 $v }}
{{- end }}
{{- printf "--%s=%v" (index . 0) $v | quote }}
{{- end }}

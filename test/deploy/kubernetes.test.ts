/**
 * deploy/kubernetes rendered with kustomize >= 5 and validated offline against the Kubernetes schemas
 * (kubernetes-models: types, required fields, enums and formats; it does not flag unknown fields), then
 * checked for what a gateway needs: probes on the admin listener, a drain that fits the grace period,
 * non-root and read-only, a config the gateway accepts, mounted so that updates reach it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';
import { loadConfigText } from '../../src/config/load.ts';
import { findKustomize, kustomizeBuild } from './kustomize.ts';

const base = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));
/** No kustomize >= 5 fails this file with the exact command that installs one (never a silent skip). */
function requireKustomize() {
  const found = findKustomize();
  if ('missing' in found) throw new Error(found.missing);
  return found;
}
const kustomize = requireKustomize();

interface Manifest { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [key: string]: unknown }

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

function render(dir: string): Manifest[] {
  return parseAllDocuments(kustomizeBuild(kustomize.command, dir)).map((doc) => doc.toJS() as Manifest);
}
const byKind = (manifests: Manifest[], kind: string) => {
  const found = manifests.filter((m) => m.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]! as Manifest & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
};

const manifests = render(base);
const deployment = byKind(manifests, 'Deployment');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const configMap = byKind(manifests, 'ConfigMap');
const secret = byKind(manifests, 'Secret');
const config = loadConfigText(configMap.data['gatehouse.yaml'], 'gatehouse.yaml', {
  GATEHOUSE_JWT_SECRET: secret.stringData['jwt-secret'],
  GATEHOUSE_ADMIN_TOKEN: secret.stringData['admin-token'],
});

describe(`deploy/kubernetes (rendered with ${kustomize.command.join(' ')} ${kustomize.version})`, () => {
  it('renders the Deployment, Service, PodDisruptionBudget, HPA, ConfigMap and Secret, each valid against its schema', () => {
    assert.deepEqual(manifests.map((m) => m.kind).sort(), ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Secret', 'Service']);
    for (const manifest of manifests) new MODELS[`${manifest.apiVersion}/${manifest.kind}`]!(manifest as never).validate();
  });

  it('ships a config the gateway accepts, with the admin listener on the pod IP where the probes look', () => {
    assert.ok(config.ok, JSON.stringify(!config.ok && config.problems));
    assert.equal(config.config.admin.host, '0.0.0.0');
    const admin = container.ports.find((p: { name: string }) => p.name === 'admin');
    assert.equal(admin.containerPort, config.config.admin.port);
    assert.equal(container.ports.find((p: { name: string }) => p.name === 'http').containerPort, config.config.listen.port);
  });

  it('probes readiness on /ready and liveness on /live on the admin port', () => {
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/ready', port: 'admin' });
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/live', port: 'admin' });
  });

  it('pauses before SIGTERM and gives the drain longer than server.drainTimeout plus that pause', () => {
    assert.ok(config.ok);
    const pause = container.lifecycle.preStop.sleep.seconds as number;
    assert.ok(pause > 0);
    assert.ok(pod.terminationGracePeriodSeconds * 1000 > config.config.server.drainTimeout + pause * 1000,
      `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} vs drainTimeout ${config.config.server.drainTimeout} ms + preStop ${pause} s`);
  });

  it('runs non-root on a read-only root filesystem with resource requests', () => {
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.notEqual(pod.securityContext.runAsUser, 0);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.ok(container.resources.requests.cpu && container.resources.requests.memory);
  });

  it('mounts the ConfigMap as a directory (a subPath mount never sees updates) where the image reads its config', () => {
    const mount = container.volumeMounts.find((m: { name: string }) => m.name === 'config');
    assert.equal(mount.mountPath, '/etc/gatehouse');
    assert.equal(mount.subPath, undefined);
    assert.deepEqual(container.args, ['start', '-c', '/etc/gatehouse/gatehouse.yaml']);
    const volume = pod.volumes.find((v: { name: string }) => v.name === 'config');
    assert.equal(volume.configMap.name, configMap.metadata.name);
    assert.equal(configMap.metadata.name, 'gatehouse-config', 'a fixed name, so an update is swapped in rather than rolled out');
  });

  it('reads the JWT secret and the admin token from the Secret', () => {
    const fromSecret = (name: string) => container.env.find((e: { name: string }) => e.name === name)?.valueFrom?.secretKeyRef;
    assert.deepEqual(fromSecret('GATEHOUSE_JWT_SECRET'), { name: secret.metadata.name, key: 'jwt-secret' });
    assert.deepEqual(fromSecret('GATEHOUSE_ADMIN_TOKEN'), { name: secret.metadata.name, key: 'admin-token' });
  });

  it('scales the Deployment on CPU, keeps a pod through disruptions and selects the pods in the Service', () => {
    const hpa = byKind(manifests, 'HorizontalPodAutoscaler');
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    assert.equal(hpa.spec.metrics[0].resource.name, 'cpu');
    assert.equal(deployment.spec.replicas, undefined, 'the HPA owns the replica count');
    const labels = deployment.spec.template.metadata.labels;
    assert.deepEqual(byKind(manifests, 'PodDisruptionBudget').spec.selector.matchLabels, labels);
    assert.deepEqual(byKind(manifests, 'Service').spec.selector, labels);
    assert.ok(!byKind(manifests, 'Service').spec.ports.some((p: { targetPort: string }) => p.targetPort === 'admin'), 'the admin port is not in the Service');
  });
});

describe('the service-monitor component', () => {
  const overlay = mkdtempSync(join(tmpdir(), 'gatehouse-kustomize-'));
  after(() => rmSync(overlay, { recursive: true, force: true }));

  it('adds a valid ServiceMonitor scraping the admin port, which it adds to the Service', () => {
    writeFileSync(join(overlay, 'kustomization.yaml'), `resources: [${relative(overlay, base)}]
components: [${relative(overlay, join(base, 'components/service-monitor'))}]
`);
    const rendered = render(overlay);
    for (const manifest of rendered) new MODELS[`${manifest.apiVersion}/${manifest.kind}`]!(manifest as never).validate();
    const monitor = byKind(rendered, 'ServiceMonitor');
    assert.equal(monitor.spec.endpoints[0].port, 'admin');
    assert.ok(byKind(rendered, 'Service').spec.ports.some((p: { name: string }) => p.name === 'admin'));
    const serviceLabels = byKind(rendered, 'Service').metadata.labels ?? {};
    for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels as Record<string, string>)) assert.equal(serviceLabels[key], value, key);
  });
});

/**
 * Finds a kustomize of at least version 5 (components need it): a `kustomize` on PATH, or the one built into
 * kubectl (1.27 and later). Debian's kubernetes-client package (kubectl 1.20, kustomize v2) is too old.
 */
import { execFileSync } from 'node:child_process';

export const INSTALL_KUSTOMIZE = 'go install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0   (or install kubectl >= 1.27 and use `kubectl kustomize`)';

function output(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000 });
  } catch {
    return undefined;
  }
}

const major = (version: string | undefined) => Number(/v?(\d+)\.\d+/.exec(version ?? '')?.[1] ?? 0);

/** The command that renders a kustomization directory, e.g. ['kubectl', 'kustomize'], or a reason there is none. */
export function findKustomize(): { command: string[]; version: string } | { missing: string } {
  const standalone = output('kustomize', ['version']);
  if (standalone !== undefined && major(standalone) >= 5) return { command: ['kustomize', 'build'], version: standalone.trim() };
  const kubectl = output('kubectl', ['version', '--client', '-o', 'json']);
  const builtIn = kubectl === undefined ? undefined : (JSON.parse(kubectl) as { kustomizeVersion?: string }).kustomizeVersion;
  if (builtIn !== undefined && major(builtIn) >= 5) return { command: ['kubectl', 'kustomize'], version: builtIn };
  const found = [standalone && `kustomize ${standalone.trim()}`, builtIn && `kubectl's kustomize ${builtIn}`].filter(Boolean).join(', ') || 'none';
  return { missing: `no kustomize >= 5 found (found: ${found}); install one with: ${INSTALL_KUSTOMIZE}` };
}

/** Renders `dir` with kustomize; the YAML stream it prints. */
export function kustomizeBuild(command: string[], dir: string): string {
  return execFileSync(command[0]!, [...command.slice(1), dir], { encoding: 'utf8', timeout: 30_000 });
}

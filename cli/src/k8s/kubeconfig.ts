import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { TributaryError } from '@tributary/shared';

/**
 * The kubeconfig kubectl would use: the first existing file in `$KUBECONFIG` (path-list), else
 * `~/.kube/config`, else the in-cluster service account; `context` picks a context other than the current one.
 */
export function loadKubeConfig(env: Record<string, string | undefined>, context?: string): KubeConfig {
  const kc = new KubeConfig();
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  const file = listed.find((f) => existsSync(f)) ?? join(env.HOME || homedir(), '.kube', 'config');
  if (existsSync(file)) {
    kc.loadFromFile(file);
  } else if (env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
  } else {
    throw new TributaryError(
      `no kubeconfig: ${listed.length > 0 ? `none of KUBECONFIG=${env.KUBECONFIG} exists` : `${file} does not exist`} (set KUBECONFIG or create ~/.kube/config)`,
      { code: 'KUBECONFIG_MISSING' },
    );
  }
  if (context) {
    if (!kc.getContextObject(context)) {
      throw new TributaryError(
        `no context "${context}" in the kubeconfig (have: ${kc.contexts.map((c) => c.name).join(', ') || 'none'})`,
        { code: 'KUBECONFIG_CONTEXT' },
      );
    }
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster()) {
    throw new TributaryError('the kubeconfig has no current cluster (kubectl config use-context <name>)', {
      code: 'KUBECONFIG_CONTEXT',
    });
  }
  return kc;
}

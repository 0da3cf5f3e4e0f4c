// Where a cluster comes from, for runtime_type 'kubernetes': a kubeconfig file (the configured
// path, else KUBECONFIG, else ~/.kube/config) or the in-cluster service account. EKS and GKE
// make their KubeConfig elsewhere and share the runtime.
import { homedir } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { HydroplaneError } from '../../errors.ts';
import type { SecretStore } from '../../secrets/secret-store.ts';
import type { KubernetesRuntimeConfig } from '../../config/schema.ts';
import type { RuntimeLogger } from '../logger.ts';
import { KubernetesRuntime, secretResolver } from './kubernetes-runtime.ts';

/** client-node's last resort when it finds no kubeconfig and no service account. */
const NOTHING_FOUND = 'http://localhost:8080';

export function kubeConfigFor(config: Pick<KubernetesRuntimeConfig, 'kubeconfig' | 'context'>): KubeConfig {
  const kc = new KubeConfig();
  const path = config.kubeconfig?.replace(/^~(?=$|\/)/, homedir());
  try {
    if (path !== undefined) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (err) {
    const source = path ?? (process.env['KUBECONFIG'] ? `KUBECONFIG (${process.env['KUBECONFIG']})` : '~/.kube/config');
    throw new HydroplaneError('invalid_config', `cannot read the kubeconfig ${source}: ${(err as Error).message}`, { cause: err });
  }
  if (config.context !== undefined) {
    if (!kc.getContextObject(config.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new HydroplaneError(
        'invalid_config',
        `context '${config.context}' is not in the kubeconfig; it has ${known.length === 0 ? 'no contexts' : known.map((n) => `'${n}'`).join(', ')}`,
      );
    }
    kc.setCurrentContext(config.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new HydroplaneError('invalid_config', `the kubeconfig's current context '${kc.getCurrentContext()}' names no cluster`);
  }
  if (path === undefined && cluster.server === NOTHING_FOUND && cluster.name === 'cluster') {
    throw new HydroplaneError(
      'invalid_config',
      'no Kubernetes cluster is configured: set kubeconfig in the runtime config, or KUBECONFIG, or write ~/.kube/config, ' +
        'or run the server in a pod with a service account',
    );
  }
  return kc;
}

export function kubernetesRuntimeFromConfig(
  config: KubernetesRuntimeConfig,
  deps: { secrets: SecretStore; logger?: RuntimeLogger },
): KubernetesRuntime {
  return new KubernetesRuntime(kubeConfigFor(config), {
    namespace: config.namespace,
    resolveSecret: secretResolver(deps.secrets),
    type: 'kubernetes',
    logger: deps.logger,
  });
}

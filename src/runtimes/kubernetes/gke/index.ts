// runtime_type 'gke': the Kubernetes runtime on a GKE cluster, whose KubeConfig carries the
// cluster's endpoint and CA from the GKE API and the credentials' current access token.
import type { GkeRuntimeConfig } from '../../../config/schema.ts';
import { KubernetesRuntime, secretResolver } from '../kubernetes-runtime.ts';
import { tokenKubeConfig } from '../token-kubeconfig.ts';
import { connectGke, type GkeDeps } from './connect.ts';

export async function gkeRuntimeFromConfig(config: GkeRuntimeConfig, deps: GkeDeps): Promise<KubernetesRuntime> {
  const { endpoint, caData, token } = await connectGke(config, deps);
  const kc = tokenKubeConfig({
    name: `gke-${config.project}-${config.region}-${config.cluster_id}`,
    server: endpoint,
    caData,
    namespace: config.namespace,
    token,
  });
  return new KubernetesRuntime(kc, {
    namespace: config.namespace,
    resolveSecret: secretResolver(deps.secrets),
    type: 'gke',
    logger: deps.logger,
  });
}

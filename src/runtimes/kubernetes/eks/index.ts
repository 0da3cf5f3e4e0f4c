// runtime_type 'eks': the Kubernetes runtime on an EKS cluster, whose KubeConfig carries the
// cluster's endpoint and CA from DescribeCluster and an EKS token renewed before it expires.
import type { EksRuntimeConfig } from '../../../config/schema.ts';
import { KubernetesRuntime, secretResolver } from '../kubernetes-runtime.ts';
import { tokenKubeConfig } from '../token-kubeconfig.ts';
import { connectEks, type EksDeps } from './connect.ts';

export async function eksRuntimeFromConfig(config: EksRuntimeConfig, deps: EksDeps): Promise<KubernetesRuntime> {
  const { endpoint, caData, auth } = await connectEks(config, deps);
  const kc = tokenKubeConfig({
    name: `eks-${config.cluster_name}`,
    server: endpoint,
    caData,
    namespace: config.namespace,
    token: () => auth.token(),
  });
  return new KubernetesRuntime(kc, {
    namespace: config.namespace,
    resolveSecret: secretResolver(deps.secrets),
    type: 'eks',
    logger: deps.logger,
  });
}

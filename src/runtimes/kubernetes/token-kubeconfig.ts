// A KubeConfig for a cloud cluster (EKS, GKE) whose user is a bearer token that expires.
// client-node asks its authenticators for headers on every request, so a custom authenticator
// puts the token source's current token on each request; the source caches and renews it.
import { KubeConfig } from '@kubernetes/client-node';

/** client-node does not export its Authenticator type from the package root. */
type Authenticator = Parameters<KubeConfig['addAuthenticator']>[0];

export interface TokenKubeConfigOptions {
  /** Names the cluster, user and context: 'eks-<cluster>'. */
  name: string;
  /** The API server's URL. */
  server: string;
  /** The cluster's CA certificate (PEM), base64-encoded as in a kubeconfig. */
  caData: string;
  namespace: string;
  /** The token to send now; called before every request. */
  token: () => Promise<string>;
}

export function tokenKubeConfig(options: TokenKubeConfigOptions): KubeConfig {
  const kc = new KubeConfig();
  // No token, exec or auth-provider on the user: client-node's own authenticators leave it alone,
  // and a static token would overwrite ours.
  const user = { name: `${options.name}-token` };
  kc.loadFromOptions({
    clusters: [{ name: options.name, server: options.server, caData: options.caData, skipTLSVerify: false }],
    users: [user],
    contexts: [{ name: options.name, cluster: options.name, user: user.name, namespace: options.namespace }],
    currentContext: options.name,
  });
  const authenticator: Authenticator = {
    isAuthProvider: (u) => u?.name === user.name,
    async applyAuthentication(_user, opts) {
      const token = await options.token();
      opts.headers = { ...opts.headers, Authorization: `Bearer ${token}` };
    },
  };
  kc.addAuthenticator(authenticator);
  return kc;
}

// What the gke runtime authenticates with: Application Default Credentials (a key file named by
// GOOGLE_APPLICATION_CREDENTIALS, the gcloud user's, or the metadata server's service account),
// checked to be of the configured project, and their OAuth2 access token as the Kubernetes bearer
// token. google-auth-library caches that token and fetches a new one before it expires.
import { GoogleAuth } from 'google-auth-library';
import { HydroplaneError } from '../../../errors.ts';
import { googleError, type GoogleCall } from './errors.ts';

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** google-auth-library's message when no source names a project (not exported from its package root). */
const NO_PROJECT = /Unable to detect a Project Id/;

type GkeCallConfig = GoogleCall['config'];

const tokenCall = (config: GkeCallConfig): GoogleCall => ({
  service: "Google's OAuth2 token service",
  action: 'getting an access token',
  config,
});

/** Finds ADC and checks that they are of the configured project; says how to fix it when not. */
export async function applicationDefaultCredentials(config: GkeCallConfig): Promise<GoogleAuth> {
  const auth = new GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE] });
  try {
    await auth.getClient();
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    throw new HydroplaneError(
      'invalid_config',
      `the gke runtime found no usable Google Application Default Credentials (${message.split('\n')[0]}): set GOOGLE_APPLICATION_CREDENTIALS to a ` +
        "service account key file, run 'gcloud auth application-default login', or run the server on Google Cloud with a service account",
      { cause: err },
    );
  }
  let adcProject: string | null;
  try {
    adcProject = await auth.getProjectId();
  } catch (err) {
    if (!NO_PROJECT.test((err as Error).message ?? ''))
      throw googleError(err, { ...tokenCall(config), action: 'finding the project of the credentials' });
    adcProject = null;
  }
  if (adcProject === null || adcProject === undefined || adcProject === '') {
    throw new HydroplaneError(
      'invalid_config',
      `the gke runtime cannot tell which project the Application Default Credentials are for; the config says project '${config.project}': ` +
        `set GOOGLE_CLOUD_PROJECT=${config.project} or use credentials of that project`,
    );
  }
  if (adcProject !== config.project) {
    throw new HydroplaneError(
      'invalid_config',
      `the Application Default Credentials are for project '${adcProject}', but the gke runtime is configured for project '${config.project}': ` +
        "use credentials of the cluster's project (GOOGLE_APPLICATION_CREDENTIALS, GOOGLE_CLOUD_PROJECT or gcloud config) or fix project in the config",
    );
  }
  return auth;
}

/** The current access token of the credentials, asked before every Kubernetes request. */
export function accessTokenSource(auth: GoogleAuth, config: GkeCallConfig): () => Promise<string> {
  return async () => {
    let value: string | null | undefined;
    try {
      value = await auth.getAccessToken();
    } catch (err) {
      throw googleError(err, tokenCall(config));
    }
    if (!value)
      throw new HydroplaneError('runtime_error', 'google-auth-library returned no access token for the Application Default Credentials');
    return value;
  };
}

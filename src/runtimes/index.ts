// Configuration -> runtime. Each backend is loaded only when configured, so a Docker server never
// pays for loading the Kubernetes and cloud clients.
import { HydroplaneError } from '../errors.ts';
import type { RuntimeConfig } from '../config/schema.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import type { RuntimeLogger } from './logger.ts';
import type { Runtime } from './runtime.ts';

export interface RuntimeDeps {
  secrets: SecretStore;
  logger: RuntimeLogger;
}

export async function createRuntime(config: RuntimeConfig, deps: RuntimeDeps): Promise<Runtime> {
  switch (config.runtime_type) {
    case 'docker': {
      const { DockerRuntime } = await import('./docker/docker-runtime.ts');
      return new DockerRuntime({ config, secrets: deps.secrets, logger: deps.logger });
    }
    case 'kubernetes': {
      const { kubernetesRuntimeFromConfig } = await import('./kubernetes/cluster.ts');
      return kubernetesRuntimeFromConfig(config, { secrets: deps.secrets, logger: deps.logger });
    }
    case 'eks': {
      const { eksRuntimeFromConfig } = await import('./kubernetes/eks/index.ts');
      return eksRuntimeFromConfig(config, { secrets: deps.secrets, logger: deps.logger });
    }
    case 'gke': {
      const { gkeRuntimeFromConfig } = await import('./kubernetes/gke/index.ts');
      return gkeRuntimeFromConfig(config, { secrets: deps.secrets, logger: deps.logger });
    }
    default: {
      const unknown: never = config;
      throw new HydroplaneError('invalid_config', `unknown runtime ${JSON.stringify(unknown)}`);
    }
  }
}

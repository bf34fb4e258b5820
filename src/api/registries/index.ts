import type { ApiPlugin } from '../server.ts';
import { registryOpenApiPaths } from './openapi.ts';
import { registryRoutes, type RegistryRouteDeps } from './routes.ts';

export { registryRoutes, type RegistryRouteDeps } from './routes.ts';
export { registryOpenApiPaths } from './openapi.ts';
export { auditMessage, hashApiKeySecret, readMessage, type ApiKeyHashes } from './auth.ts';

/** The registry routes as a plugin of the hub's API (`buildApi({..., plugins: [registryApiPlugin(deps)]})`). */
export function registryApiPlugin(deps: RegistryRouteDeps): ApiPlugin {
  return { name: 'registries', register: (app) => registryRoutes(app, deps), docs: registryOpenApiPaths() };
}

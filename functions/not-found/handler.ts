import { BridgeError, notFound } from '../core/domain/errors';
import type { BridgeDeps } from '../core/deps';
import type { ApiEvent } from '../core/http/api';
import { httpHandler } from '../core/http/route';
import { httpRoutes } from '../manifest';

const routePatterns = httpRoutes.map((route) => ({
  method: route.method,
  pattern: new RegExp(`^${route.path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
}));

/** The methods that serve `path`, per the manifest; empty for an unknown path. */
export function allowedMethods(path: string): string[] {
  return [...new Set(routePatterns.filter((route) => route.pattern.test(path)).map((route) => route.method))];
}

function decodesCleanly(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

/** API Gateway's `$default` route: the contract's JSON 404 for unknown routes and 405 for a wrong method. */
export const createNotFoundHandler = (deps: Pick<BridgeDeps, 'log' | 'metrics'>) =>
  httpHandler(deps, 'none', async (event: ApiEvent) => {
    const method = event.requestContext.http.method;
    if (!decodesCleanly(event.rawPath)) {
      // API Gateway matches no route when a path parameter does not decode; say so rather than blame the method.
      throw new BridgeError('invalid', 'invalid_path', 'The path has a malformed percent-escape');
    }
    const allowed = allowedMethods(event.rawPath);
    if (allowed.length > 0 && !allowed.includes(method)) {
      throw new BridgeError(
        'method_not_allowed',
        'method_not_allowed',
        `${method} is not allowed here; use ${allowed.join(' or ')}`,
      );
    }
    throw notFound('unknown_route', `No route for ${event.requestContext.http.method} ${event.rawPath}`);
  });

import type { BridgeDeps, DepsOf } from '../core/deps';
import { header } from '../core/http/api';
import { routeFor } from '../core/http/route';
import { widgetHttpHandler } from '../core/http/widget-route';
import { authenticateWidgetCaller, widgetTokenRulesFrom } from '../core/use-cases/widget-caller';
import { widgetRoutes, type WidgetRoutesDeps } from './routes';

/**
 * The Kommo widget's routes (docs/contract.md, "Kommo widget → bridge", and "Widget routes, v2", which
 * name a chat by Kommo's id), and their CORS preflights. Without KOMMO_CLIENT_SECRET or
 * KOMMO_REDIRECT_URI the function does not start.
 */
export type WidgetDeps = Pick<BridgeDeps, 'config' | 'log'> &
  DepsOf<typeof widgetHttpHandler> &
  DepsOf<typeof authenticateWidgetCaller> &
  WidgetRoutesDeps;

export const createWidgetHandler = (deps: WidgetDeps) => {
  const tokenRules = widgetTokenRulesFrom(deps.config);
  const routes = widgetRoutes(deps);
  return widgetHttpHandler(deps, async (event) => {
    const route = routeFor(routes, event.routeKey, 'widget route');
    return route(event, await authenticateWidgetCaller(deps, tokenRules, header(event, 'x-auth-token')));
  });
};

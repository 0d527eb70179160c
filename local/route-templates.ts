/** The route a request takes, matched the way API Gateway matches route keys with path parameters. */
export interface MatchedRoute<R> {
  /** The route key as API Gateway names it (`GET /stores/{storeId}/credentials`). */
  routeKey: string;
  route: R;
  /** Each `{name}` segment's value, decoded; undefined for a route without parameters (as API Gateway leaves it out). */
  pathParameters: Record<string, string> | undefined;
}

/**
 * Finds the route of `method path` among route keys (`METHOD /path/{param}/...`), where each
 * `{name}` segment matches exactly one path segment.
 */
export function matchRoute<R>(routes: Record<string, R>, method: string, path: string): MatchedRoute<R> | undefined {
  for (const [routeKey, route] of Object.entries(routes)) {
    const separator = routeKey.indexOf(' ');
    if (routeKey.slice(0, separator) !== method) continue;
    const pathParameters = matchPath(routeKey.slice(separator + 1), path);
    if (pathParameters === undefined) continue;
    return { routeKey, route, pathParameters: Object.keys(pathParameters).length === 0 ? undefined : pathParameters };
  }
  return undefined;
}

function matchPath(template: string, path: string): Record<string, string> | undefined {
  const expected = template.split('/');
  const actual = path.split('/');
  if (expected.length !== actual.length) return undefined;
  const parameters: Record<string, string> = {};
  for (const [index, segment] of expected.entries()) {
    const parameter = /^\{([A-Za-z0-9_]+)\}$/.exec(segment)?.[1];
    const value = actual[index]!;
    if (parameter === undefined) {
      if (segment !== value) return undefined;
    } else {
      if (value === '') return undefined;
      parameters[parameter] = decodeSegment(value);
    }
  }
  return parameters;
}

function decodeSegment(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * The credentials API's routes, as API Gateway names them. No imports: the CDK side, the local stack
 * and the client library read them without loading the function.
 */
export const CREDENTIALS_ROUTES = {
  /** A store's credentials. */
  read: { method: 'GET', path: '/stores/{storeId}/credentials' },
  /** The app's report that Ecwid refused the token it was handed. */
  reportRejection: { method: 'POST', path: '/stores/{storeId}/credentials/rejected' },
} as const;

export type CredentialsRoute = (typeof CREDENTIALS_ROUTES)[keyof typeof CREDENTIALS_ROUTES];

/** `GET /stores/{storeId}/credentials`: the route key API Gateway puts into the event. */
export function routeKeyOf(route: CredentialsRoute): string {
  return `${route.method} ${route.path}`;
}

/** A route's path for one store. */
export function pathFor(route: CredentialsRoute, storeId: number): string {
  return route.path.replace('{storeId}', String(storeId));
}

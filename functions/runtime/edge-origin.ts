import { createHash, timingSafeEqual } from 'node:crypto';
import { EcwidAppAuthError } from '../core/errors';

/**
 * The header the edge (CloudFront, with the rate-limiting web ACL) adds to every request it passes
 * on to the API. With edge protection on, the public routes answer only requests that carry it with
 * the deployment's secret: the origin's own domain, reachable on the internet, cannot be used to
 * go around the edge.
 */
export const EDGE_ORIGIN_HEADER = 'x-ecwid-app-auth-origin';

/** The shortest edge origin secret accepted: a guess must be hopeless. */
export const EDGE_ORIGIN_SECRET_MIN_LENGTH = 32;

/**
 * Refuses (`NOT_THROUGH_EDGE`, 403) a request that did not come through the edge, when the
 * deployment has one (`secret` set); does nothing otherwise.
 */
export function requireThroughEdge(headers: Record<string, string | undefined> | undefined, secret: string | undefined): void {
  if (secret !== undefined && !cameThroughEdge(headers, secret)) {
    throw new EcwidAppAuthError('NOT_THROUGH_EDGE', 'a request reached the origin without coming through the edge');
  }
}

/**
 * Whether a request came through the edge: its header holds the secret. Compared in constant time
 * (over digests, so the lengths leak nothing either).
 */
export function cameThroughEdge(headers: Record<string, string | undefined> | undefined, secret: string): boolean {
  const presented = headers?.[EDGE_ORIGIN_HEADER];
  if (presented === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(secret));
}

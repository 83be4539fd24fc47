import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Whether an `Authorization` header carries `Bearer <adminToken>`. Both sides are hashed first, so
 * the comparison is constant-time whatever the lengths and reveals nothing about the token.
 */
export function adminBearerMatches(authorization: string | undefined, adminToken: string): boolean {
  const match = /^Bearer +(\S+)$/i.exec(authorization?.trim() ?? '');
  const presented = createHash('sha256')
    .update(match?.[1] ?? '')
    .digest();
  const expected = createHash('sha256').update(adminToken).digest();
  return timingSafeEqual(presented, expected) && match !== null;
}

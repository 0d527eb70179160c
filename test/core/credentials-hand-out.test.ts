import {
  DEFAULT_HAND_OUT_RULES,
  isUsableStatus,
  parseStoreId,
  planHandOut,
  toStoreCredentials,
  type UsableInstallation,
} from '../../functions/core/credentials/hand-out';
import type { Installation, InstallationStatus, SealedToken } from '../../functions/core/model';

const NOW = 1_800_000_000;

function installation(overrides: Partial<Installation> = {}): Installation {
  return {
    storeId: 1003,
    tokenKey: 'key',
    accessToken: 'v1.sealed' as SealedToken,
    tokenType: 'Bearer',
    scope: 'read_store_profile read_catalog',
    installedAtEpochSeconds: NOW - 86_400,
    updatedAtEpochSeconds: NOW - 86_400,
    status: 'active',
    version: 3,
    ...overrides,
  };
}

describe('which installations get their token handed out', () => {
  it.each<[InstallationStatus, boolean]>([
    ['active', true],
    ['needs_attention', true],
    ['needs_reinstall', false],
    ['suspended', false],
    ['store_gone', false],
  ])('%s: %s', (status, usable) => {
    expect(isUsableStatus(status)).toBe(usable);
  });

  it('refuses a token known not to work, with the stored reason, or the status when none was stored', () => {
    expect(planHandOut(installation({ status: 'needs_reinstall', statusReason: 'INVALID_API_TOKEN' }), NOW, DEFAULT_HAND_OUT_RULES)).toEqual({
      kind: 'unusable',
      status: 'needs_reinstall',
      reason: 'INVALID_API_TOKEN',
    });
    expect(planHandOut(installation({ status: 'store_gone' }), NOW, DEFAULT_HAND_OUT_RULES)).toEqual({
      kind: 'unusable',
      status: 'store_gone',
      reason: 'store_gone',
    });
  });

  it('hands out a non-expiring token, and an expiring one far from its end, as they are', () => {
    expect(planHandOut(installation(), NOW, DEFAULT_HAND_OUT_RULES).kind).toBe('hand_out');
    expect(planHandOut(installation({ expiresAtEpochSeconds: NOW + 300 }), NOW, DEFAULT_HAND_OUT_RULES).kind).toBe('hand_out');
    expect(planHandOut(installation({ status: 'needs_attention' }), NOW, DEFAULT_HAND_OUT_RULES).kind).toBe('hand_out');
  });

  it('renews a short-lived token only in the second half of its life, and never lets it drop below a minute', () => {
    const issued = { installedAtEpochSeconds: NOW, expiresAtEpochSeconds: NOW + 240 };
    expect(planHandOut(installation(issued), NOW + 119, DEFAULT_HAND_OUT_RULES).kind).toBe('hand_out');
    expect(planHandOut(installation(issued), NOW + 121, DEFAULT_HAND_OUT_RULES).kind).toBe('renew');
    const refreshed = { installedAtEpochSeconds: NOW - 86_400, lastRefreshedAtEpochSeconds: NOW, expiresAtEpochSeconds: NOW + 90 };
    expect(planHandOut(installation(refreshed), NOW + 29, DEFAULT_HAND_OUT_RULES).kind).toBe('hand_out');
    expect(planHandOut(installation(refreshed), NOW + 31, DEFAULT_HAND_OUT_RULES)).toMatchObject({ kind: 'renew', fallback: false });
  });

  it('renews an expiring token close to its end first, and falls back on it only while it lasts a minute', () => {
    expect(planHandOut(installation({ expiresAtEpochSeconds: NOW + 299 }), NOW, DEFAULT_HAND_OUT_RULES)).toMatchObject({ kind: 'renew', fallback: true });
    expect(planHandOut(installation({ expiresAtEpochSeconds: NOW + 60 }), NOW, DEFAULT_HAND_OUT_RULES)).toMatchObject({ kind: 'renew', fallback: true });
    expect(planHandOut(installation({ expiresAtEpochSeconds: NOW + 59 }), NOW, DEFAULT_HAND_OUT_RULES)).toMatchObject({ kind: 'renew', fallback: false });
    expect(planHandOut(installation({ expiresAtEpochSeconds: NOW - 10 }), NOW, DEFAULT_HAND_OUT_RULES)).toMatchObject({ kind: 'renew', fallback: false });
  });
});

describe('the credentials a caller receives', () => {
  it('names every field the route documents, with null for what the store does not have', () => {
    expect(toStoreCredentials(installation() as UsableInstallation, { accessToken: 'secret_a', publicToken: undefined })).toEqual({
      storeId: 1003,
      accessToken: 'secret_a',
      tokenType: 'Bearer',
      scope: 'read_store_profile read_catalog',
      publicToken: null,
      expiresAt: null,
      status: 'active',
      missingScopes: [],
    });
    expect(toStoreCredentials(installation({ missingScopes: ['read_orders'] }) as UsableInstallation, { accessToken: 'secret_a', publicToken: undefined }).missingScopes).toEqual([
      'read_orders',
    ]);
  });

  it('gives the expiry as an ISO instant, and the public token when there is one', () => {
    const credentials = toStoreCredentials(installation({ expiresAtEpochSeconds: NOW + 3600, status: 'needs_attention' }) as UsableInstallation, {
      accessToken: 'secret_a',
      publicToken: 'public_b',
    });
    expect(credentials).toMatchObject({ publicToken: 'public_b', expiresAt: new Date((NOW + 3600) * 1000).toISOString(), status: 'needs_attention' });
  });
});

describe('store ids in a request', () => {
  it.each([
    ['1003', 1003],
    ['1', 1],
    ['9007199254740991', 9007199254740991],
  ])('reads %s', (text, storeId) => {
    expect(parseStoreId(text)).toBe(storeId);
  });

  it.each(['0', '-1', '01', '1.5', '1e3', '+5', ' 1', '1 ', '0x10', 'abc', '', '9007199254740993', '12345678901234567'])('refuses %j', (text) => {
    expect(parseStoreId(text)).toBeUndefined();
  });

  it('refuses a missing id', () => {
    expect(parseStoreId(undefined)).toBeUndefined();
  });
});

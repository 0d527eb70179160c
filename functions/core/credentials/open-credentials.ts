import type { TokenSealer, TokenVault } from '../ports';
import { toStoreCredentials, type StoreCredentials, type UsableInstallation } from './hand-out';

/**
 * An installation's credentials in the clear: its data key unwrapped (one KMS request, unless a
 * sealer is at hand already), then its access and public tokens opened locally.
 *
 * @throws EncryptionError `ENCRYPTION_UNAVAILABLE` (KMS) or `TOKEN_UNREADABLE` (an altered or moved token).
 */
export async function openCredentials(
  vault: TokenVault,
  installation: UsableInstallation,
  sealer?: TokenSealer,
): Promise<StoreCredentials> {
  const opener = sealer ?? (await vault.sealerOf(installation));
  return toStoreCredentials(installation, {
    accessToken: opener.open(installation.accessToken, 'access_token'),
    publicToken: installation.publicToken === undefined ? undefined : opener.open(installation.publicToken, 'public_token'),
  });
}

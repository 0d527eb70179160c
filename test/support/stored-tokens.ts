import type { Installation } from '../../functions/core/model';
import type { TokenVault } from '../../functions/core/ports';

/** An installation's tokens in the clear, opened with the vault that sealed them (tests only). */
export async function storedTokens(vault: TokenVault, installation: Installation) {
  const sealer = await vault.sealerOf(installation);
  return {
    accessToken: sealer.open(installation.accessToken, 'access_token'),
    refreshToken: installation.refreshToken === undefined ? undefined : sealer.open(installation.refreshToken, 'refresh_token'),
  };
}

import { errorCodeOf } from '../errors';
import type { Installation } from '../model';
import { isUsable, type UsableInstallation } from './hand-out';
import type { CredentialsAnswer, CredentialsDependencies, CredentialsRequest, CredentialsSettings, RejectionAnswer } from './settings';
import { TokenRenewal } from './token-renewal';

/** When to ask again after a check that could not conclude, unless Ecwid said when. */
const UNCONFIRMED_RETRY_AFTER_SECONDS = 30;

/** Tokens Ecwid accepted recently, by store: further reports about the same version are not checked again. */
export interface AcceptedTokens {
  wasAccepted(storeId: number, version: number): boolean;
  accept(storeId: number, version: number): void;
}

/**
 * Handles the app's report that Ecwid refused the token it was handed (403 `INVALID_API_TOKEN`).
 * The report is not taken on trust: the stored token is checked against Ecwid's profile endpoint,
 * and only a confirmed refusal changes anything.
 *
 * - A non-expiring token Ecwid refuses moves the installation to `needs_reinstall`, written only
 *   over the version that was checked (a reinstall meanwhile keeps its new token).
 * - An expiring token may have been refused only because the caller's copy ran out: the refresh
 *   grant decides instead (the renewal on read, single flight with the job). A new token means the
 *   installation is `active`; a refused grant, `needs_reinstall`.
 * - A token Ecwid accepts leaves everything as it is (`active`).
 * - Anything else (429, 5xx, a suspended store) concludes nothing: nothing is written.
 *
 * @see https://api-docs.ecwid.com/reference/errors
 */
export class RejectionCheck {
  constructor(
    private readonly deps: CredentialsDependencies,
    private readonly settings: CredentialsSettings,
    private readonly request: CredentialsRequest,
    private readonly accepted: AcceptedTokens,
  ) {}

  async run(): Promise<RejectionAnswer> {
    const { storeId } = this.request;
    const installation = await this.deps.installations.getInstallation(storeId);
    if (installation === undefined) return { outcome: 'not_installed' };
    // Already known not to work: nothing to ask Ecwid (a broken token must not be hammered).
    if (!isUsable(installation)) return { outcome: 'concluded', status: installation.status };
    if (this.accepted.wasAccepted(storeId, installation.version)) return { outcome: 'concluded', status: 'active' };

    const accessToken = (await this.deps.vault.sealerOf(installation)).open(installation.accessToken, 'access_token');
    const verification = await this.deps.verifier.verifyToken({ storeId, accessToken });
    switch (verification.outcome) {
      case 'valid':
        this.accepted.accept(storeId, installation.version);
        return { outcome: 'concluded', status: 'active' };
      case 'revoked':
        return installation.expiresAtEpochSeconds === undefined
          ? this.recordRevocation(installation, verification.errorCode)
          : this.settleThroughRenewal(installation, accessToken);
      case 'rate_limited':
        return unconfirmed('rate_limited', verification.retryAfterSeconds);
      case 'suspended':
      case 'store_gone':
        return unconfirmed(verification.errorCode);
      case 'failed':
        return unconfirmed(verification.reason);
    }
  }

  private async recordRevocation(checked: UsableInstallation, errorCode: string): Promise<RejectionAnswer> {
    let current: Installation = checked;
    // Twice at most: once over the version checked, once more if only bookkeeping (a check, a
    // lease) moved the version on while the token stayed the same.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const written = await this.deps.installations.recordRevocation({
        storeId: current.storeId,
        version: current.version,
        nowEpochSeconds: Math.floor(this.deps.clock.nowEpochMs() / 1000),
        statusReason: errorCode,
      });
      if (written) {
        return {
          outcome: 'concluded',
          status: 'needs_reinstall',
          transition: { storeId: current.storeId, from: current.status, to: 'needs_reinstall', reason: errorCode },
        };
      }
      const latest = await this.deps.installations.getInstallation(current.storeId);
      if (latest === undefined) return { outcome: 'not_installed' };
      if (!isUsable(latest)) return { outcome: 'concluded', status: latest.status };
      // A new grant since the check (a reinstall): its token was not the one refused.
      if (latest.accessToken !== checked.accessToken) return { outcome: 'concluded', status: 'active' };
      current = latest;
    }
    return unconfirmed('installation_changing');
  }

  private async settleThroughRenewal(checked: UsableInstallation, refusedToken: string): Promise<RejectionAnswer> {
    const renewal = new TokenRenewal(this.deps, this.settings, this.request, (installation) => installation.version === checked.version && isUsable(installation));
    let answer: CredentialsAnswer;
    try {
      answer = await renewal.renew(checked);
    } catch (error) {
      return unconfirmed(errorCodeOf(error).toLowerCase());
    }
    switch (answer.outcome) {
      case 'not_installed':
        return answer;
      case 'unusable':
        return { outcome: 'concluded', status: answer.status, ...(answer.transition === undefined ? {} : { transition: answer.transition }) };
      case 'issued': {
        // Only a token other than the refused one proves the grant alive; the same one was not renewed.
        if (answer.credentials.accessToken === refusedToken) return unconfirmed('renewal_deferred');
        return { outcome: 'concluded', status: 'active', ...(answer.transition === undefined ? {} : { transition: answer.transition }) };
      }
    }
  }
}

function unconfirmed(reason: string, retryAfterSeconds?: number): RejectionAnswer {
  return {
    outcome: 'unconfirmed',
    reason,
    retryAfterSeconds: retryAfterSeconds !== undefined && retryAfterSeconds > 0 ? Math.ceil(retryAfterSeconds) : UNCONFIRMED_RETRY_AFTER_SECONDS,
  };
}

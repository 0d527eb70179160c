import { interpretProfileResponse } from '../../core/ecwid/profile-response';
import { EcwidRequestError } from '../../core/errors';
import type { TokenVerification } from '../../core/model';
import type { TokenVerifier } from '../../core/ports';
import { joinUrl } from '../../core/urls';
import { NetworkError, sendToEcwid, type EcwidHttpOptions } from './http';

export interface EcwidProfileVerifierOptions extends EcwidHttpOptions {
  /** Ecwid's REST API origin (`https://app.ecwid.com`). */
  apiBaseUrl: string;
}

/** Checks a token against Ecwid's REST API: the store profile answers for any token of any scope. */
export class EcwidProfileVerifier implements TokenVerifier {
  constructor(private readonly options: EcwidProfileVerifierOptions) {}

  /**
   * `GET /api/v3/{storeId}/profile` with the token in the `Authorization` header (Ecwid stopped
   * accepting `?token=` in March 2025), trimmed to the one field it needs.
   *
   * @see https://api-docs.ecwid.com/reference/get-store-profile
   */
  async verifyToken(request: { storeId: number; accessToken: string; timeoutMs?: number }): Promise<TokenVerification> {
    const url = joinUrl(this.options.apiBaseUrl, `/api/v3/${request.storeId}/profile`);
    url.searchParams.set('responseFields', 'generalInfo(storeId)');
    try {
      const response = await sendToEcwid(
        url,
        { method: 'GET', headers: { authorization: `Bearer ${request.accessToken}`, accept: 'application/json' } },
        request.timeoutMs === undefined ? this.options : { ...this.options, timeoutMs: request.timeoutMs },
      );
      return interpretProfileResponse(response, request.storeId);
    } catch (error) {
      const reason = error instanceof NetworkError ? error.networkError : error instanceof EcwidRequestError ? error.code : 'internal';
      return { outcome: 'failed', reason: reason.toLowerCase() };
    }
  }
}

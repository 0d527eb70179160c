import { parseTokenResponse } from '../../core/ecwid/token-response';
import type { TokenGrant } from '../../core/model';
import type { CodeExchangeRequest, TokenEndpoint, TokenRefresher, TokenRefreshRequest } from '../../core/ports';
import { joinUrl } from '../../core/urls';
import { sendToEcwid, type EcwidHttpOptions } from './http';

export interface EcwidOAuthClientOptions extends EcwidHttpOptions {
  /** Ecwid's OAuth origin (`https://my.ecwid.com`), or any server with the same paths. */
  oauthBaseUrl: string;
}

/** Ecwid's token endpoint over `fetch`: the code exchange and the refresh grant. */
export class EcwidOAuthClient implements TokenEndpoint, TokenRefresher {
  constructor(private readonly options: EcwidOAuthClientOptions) {}

  /**
   * `POST /api/oauth/token/{storeId}` (or `/api/oauth/token` without a store id), form-encoded with
   * all five parameters, as Ecwid requires since September 2025.
   *
   * @see https://api-docs.ecwid.com/docs/get-access-token
   */
  async exchangeCode(request: CodeExchangeRequest): Promise<TokenGrant> {
    const path = request.storeId === undefined ? '/api/oauth/token' : `/api/oauth/token/${request.storeId}`;
    const response = await this.postForm(path, {
      client_id: request.clientId,
      client_secret: request.clientSecret,
      code: request.code,
      redirect_uri: request.redirectUri,
      grant_type: 'authorization_code',
    });
    return parseTokenResponse(response, {
      grantType: 'authorization_code',
      ...(request.storeId === undefined ? {} : { storeId: request.storeId }),
    });
  }

  /** `POST /api/oauth/token/{storeId}` with `grant_type=refresh_token` (RFC 6749 §6), form-encoded. */
  async refreshToken(request: TokenRefreshRequest): Promise<TokenGrant> {
    const response = await this.postForm(`/api/oauth/token/${request.storeId}`, {
      client_id: request.clientId,
      client_secret: request.clientSecret,
      refresh_token: request.refreshToken,
      grant_type: 'refresh_token',
    });
    return parseTokenResponse(response, { grantType: 'refresh_token', storeId: request.storeId });
  }

  private postForm(path: string, form: Record<string, string>) {
    return sendToEcwid(
      joinUrl(this.options.oauthBaseUrl, path),
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams(form).toString(),
      },
      this.options,
    );
  }
}

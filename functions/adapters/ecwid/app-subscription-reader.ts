import { interpretApplicationResponse } from '../../core/ecwid/application-response';
import { EcwidRequestError } from '../../core/errors';
import type { AppSubscriptionAnswer } from '../../core/model';
import type { AppSubscriptionReader } from '../../core/ports';
import { joinUrl } from '../../core/urls';
import { NetworkError, sendToEcwid, type EcwidHttpOptions } from './http';

export interface EcwidAppSubscriptionReaderOptions extends EcwidHttpOptions {
  /** Ecwid's REST API origin (`https://app.ecwid.com`). */
  apiBaseUrl: string;
}

/** Reads the app's subscription in a store from Ecwid's REST API (any token may: `read_store_profile` is always granted). */
export class EcwidAppSubscriptionReader implements AppSubscriptionReader {
  constructor(private readonly options: EcwidAppSubscriptionReaderOptions) {}

  /**
   * `GET /api/v3/{storeId}/application` with the token in the `Authorization` header, within the timeout.
   *
   * @see https://docs.ecwid.com/api-reference/rest-api/application/get-app-subscription-status
   */
  async readAppSubscription(request: { storeId: number; accessToken: string; timeoutMs?: number }): Promise<AppSubscriptionAnswer> {
    const url = joinUrl(this.options.apiBaseUrl, `/api/v3/${request.storeId}/application`);
    try {
      const response = await sendToEcwid(
        url,
        { method: 'GET', headers: { authorization: `Bearer ${request.accessToken}`, accept: 'application/json' } },
        request.timeoutMs === undefined ? this.options : { ...this.options, timeoutMs: request.timeoutMs },
      );
      return interpretApplicationResponse(response);
    } catch (error) {
      const reason = error instanceof NetworkError ? error.networkError : error instanceof EcwidRequestError ? error.code : 'internal';
      return { outcome: 'unavailable', reason: reason.toLowerCase() };
    }
  }
}

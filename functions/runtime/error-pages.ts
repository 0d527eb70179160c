import type { ErrorCode } from '../core/errors';

/** How one error code reaches a person: the HTTP status and the page they see. */
export interface ErrorPresentation {
  status: number;
  title: string;
  paragraphs: string[];
  /** Whether "start again" is the way out. */
  restart: boolean;
}

const TRY_AGAIN_SOON = 'Nothing was changed in your store. Please try again in a few minutes.';
const NOT_COMPLETED = 'Ecwid did not complete the installation';

/** The one mapping from error codes to HTTP statuses and the pages merchants see. */
export function presentError(code: ErrorCode): ErrorPresentation {
  switch (code) {
    case 'INVALID_REQUEST':
      return page(400, 'This installation link is incomplete', [
        'The address is missing information Ecwid sends when it hands an installation back to this app.',
      ]);
    case 'ECWID_AUTHORIZATION_ERROR':
      return page(400, 'Ecwid could not start the installation', ['Ecwid reported a problem with the request.']);
    case 'APP_MARKET_INSTALLS_DISABLED':
      return page(403, 'Please install from our website', [
        'This app accepts installations that start on its own website.',
      ]);
    case 'STATE_UNKNOWN':
      return page(400, 'This installation link is not valid', ['It was not issued by this app, or it is too old.']);
    case 'STATE_USED':
      return page(400, 'This installation link was already used', ['Each link works once, for your security.']);
    case 'STATE_EXPIRED':
      return page(400, 'This installation link expired', ['Links are valid for a few minutes, for your security.']);
    case 'STATE_BROWSER_MISMATCH':
      return page(403, 'Please finish in the browser you started in', [
        'For your security, an installation must be completed in the same browser where it started, with cookies enabled.',
      ]);
    case 'CODE_REJECTED':
      return page(400, 'This installation link expired', [
        'Ecwid no longer accepts it: installation links are valid for a few minutes and only once.',
      ]);
    case 'CLIENT_REJECTED':
    case 'REFRESH_TOKEN_REJECTED':
    case 'ECWID_UNAVAILABLE':
    case 'ECWID_UNREACHABLE':
    case 'ECWID_INVALID_RESPONSE':
      return page(502, NOT_COMPLETED, [TRY_AGAIN_SOON]);
    case 'INSTALL_OUTCOME_UNKNOWN':
      return page(502, 'We could not confirm the installation', [
        'An earlier attempt with this link did not finish. Please start the installation again.',
      ]);
    case 'ECWID_TIMEOUT':
      return page(504, NOT_COMPLETED, ['Ecwid took too long to answer. ' + TRY_AGAIN_SOON]);
    case 'INSTALL_IN_PROGRESS':
      return {
        status: 409,
        title: 'Your installation is still being completed',
        paragraphs: ['Please reload this page in a few seconds.'],
        restart: false,
      };
    case 'ECWID_RATE_LIMITED':
    case 'STORAGE_UNAVAILABLE':
    case 'SECRET_UNAVAILABLE':
    case 'ENCRYPTION_UNAVAILABLE':
      return page(503, 'This app is temporarily unavailable', [TRY_AGAIN_SOON]);
    case 'APP_PAYLOAD_INVALID':
      return {
        status: 400,
        title: 'Please open the app from your Ecwid control panel',
        paragraphs: ['This address only works when Ecwid opens it for your store.'],
        restart: false,
      };
    case 'SESSION_INVALID':
      return {
        status: 401,
        title: 'Please open the app again from your Ecwid control panel',
        paragraphs: ['Your session has ended or could not be confirmed.'],
        restart: false,
      };
    case 'NOT_THROUGH_EDGE':
      return {
        status: 403,
        title: 'Please use the app\'s own address',
        paragraphs: ['This address is not meant to be opened directly.'],
        restart: true,
      };
    case 'NOT_CONFIGURED':
      return {
        status: 503,
        title: 'This app is not set up yet',
        paragraphs: ['Its operator has not finished configuring it. Please try again later.'],
        restart: false,
      };
    // The credentials API answers JSON (`json-api.ts`); these pages only stand in should a page ever meet them.
    case 'INVALID_STORE_ID':
      return page(400, 'This address is not valid', ['It does not name a store.']);
    case 'NOT_INSTALLED':
      return page(404, 'This store has not installed the app', ['Install the app to connect the store.']);
    case 'INSTALLATION_UNUSABLE':
      return page(409, 'This store must install the app again', ['Ecwid no longer accepts the access it granted.']);
    case 'TOKEN_RENEWAL_PENDING':
    case 'REJECTION_UNCONFIRMED':
    case 'CREDENTIALS_API_UNAVAILABLE':
      return page(503, 'This app is temporarily unavailable', [TRY_AGAIN_SOON]);
    case 'ECWID_TOKEN_REJECTED':
    case 'ECWID_SCOPE_INSUFFICIENT':
    case 'ECWID_REQUEST_REFUSED':
      return page(502, 'Ecwid refused the request', [TRY_AGAIN_SOON]);
    case 'TOKEN_UNREADABLE':
    case 'INTERNAL':
      return page(500, 'Something went wrong', [TRY_AGAIN_SOON]);
    // Webhooks answer Ecwid, not a person: these statuses matter (Ecwid retries anything but 2xx), the pages do not.
    case 'WEBHOOK_SIGNATURE_INVALID':
      return webhookPage(401, 'The webhook signature is missing or wrong');
    case 'INVALID_WEBHOOK':
      return webhookPage(400, 'The webhook body is not one Ecwid sends');
    case 'WEBHOOK_IN_PROGRESS':
      return webhookPage(409, 'Another delivery of this webhook is being handled');
    case 'WEBHOOK_DEFERRED':
      return webhookPage(503, 'The webhook could not be handled in time; deliver it again');
  }
}

function webhookPage(status: number, title: string): ErrorPresentation {
  return { status, title, paragraphs: [], restart: false };
}

function page(status: number, title: string, paragraphs: string[]): ErrorPresentation {
  return { status, title, paragraphs, restart: true };
}


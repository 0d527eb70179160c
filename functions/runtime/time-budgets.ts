/**
 * Time budgets the stack and the functions must agree on. A module of its own, without imports, so
 * the CDK app can read it without loading the AWS SDK.
 */

/** The callback function's timeout: within API Gateway's 30 s, room for the token request and a duplicate's wait. */
export const CALLBACK_TIMEOUT_SECONDS = 25;

/**
 * What the callback needs besides its one request to Ecwid, after it: storing the installation and
 * recording the code's outcome (and, for a redirect without a store id, a data key). A token request
 * may take the callback's timeout less this, and no more, or the outcome would be lost with the code
 * already spent.
 */
export const CALLBACK_RESERVE_AFTER_TOKEN_REQUEST_MS = 10_000;

/** The longest budget a request to Ecwid may have: what the callback's timeout leaves it. */
export const MAX_TOKEN_REQUEST_TIMEOUT_MS = CALLBACK_TIMEOUT_SECONDS * 1000 - CALLBACK_RESERVE_AFTER_TOKEN_REQUEST_MS;

/** A refresh run's budget; it stops taking work early enough to finish inside it. */
export const REFRESH_TIMEOUT_SECONDS = 5 * 60;

/** The webhooks function's timeout: past Ecwid's 10 s wait, so the function's own deadline answers first. */
export const WEBHOOK_TIMEOUT_SECONDS = 10;

/** When a webhook's answer must be on its way, from the start of the request: inside Ecwid's 10 s, with room for the network. */
export const WEBHOOK_ANSWER_BUDGET_MS = 8_000;
/**
 * The credentials function's timeout: within API Gateway's 30 s, room to wait for a renewal another
 * lease holder is doing, then for a refresh of its own and the write of its answer.
 */
export const CREDENTIALS_TIMEOUT_SECONDS = 25;

/**
 * The app function's timeout: within API Gateway's 30 s, room for a repair's profile check (at most
 * the longest request budget), a data key, the write, and the session's signature.
 */
export const APP_TIMEOUT_SECONDS = 25;

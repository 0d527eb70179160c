/**
 * Time budgets the stack and the functions must agree on. A module of its own, without imports, so
 * the CDK app can read it without loading the AWS SDK.
 */

/** The callback function's timeout: within API Gateway's 30 s, room for the token request and a duplicate's wait. */
export const CALLBACK_TIMEOUT_SECONDS = 25;

/** A refresh run's budget; it stops taking work early enough to finish inside it. */
export const REFRESH_TIMEOUT_SECONDS = 5 * 60;

/**
 * The credentials function's timeout: within API Gateway's 30 s, room to wait for a renewal another
 * lease holder is doing, then for a refresh of its own and the write of its answer.
 */
export const CREDENTIALS_TIMEOUT_SECONDS = 25;

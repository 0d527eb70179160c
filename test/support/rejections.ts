import { EcwidAppAuthError } from '../../functions/core/errors';

/** The error a promise rejects with, which must be of `type`; fails the test when it resolves. */
export async function rejectionOf<E>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof type) return error;
    throw error;
  }
  throw new Error(`expected a rejection with ${type.name}`);
}

/** The `code` of the `EcwidAppAuthError` a promise rejects with. */
export async function errorCodeOf(promise: Promise<unknown>): Promise<string> {
  return (await rejectionOf(promise, EcwidAppAuthError)).code;
}

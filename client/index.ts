/**
 * The package's `./client` entry: what the app's own code needs to work with what this backend
 * stores. The errors the app throws, with their machine-readable codes, and an installation's status.
 */
export { EcwidAppAuthError, ErrorCodes, type ErrorCode } from '../functions/core/errors';
export type { InstallationStatus } from '../functions/core/model';

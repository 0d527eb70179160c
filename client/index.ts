/**
 * The package's `./client` entry: what the app's own code needs to work with what this backend
 * stores. The errors the app throws, with their machine-readable codes, an installation's status, and
 * the lifecycle events it publishes.
 */
export { EcwidAppAuthError, ErrorCodes, type ErrorCode } from '../functions/core/errors';
export type { InstallationStatus, LifecycleEventDetail, LifecycleEventType } from '../functions/core/model';
/** The lifecycle events a rule on the construct's `eventBus` can match: their `source` and every `detail-type`. */
export { LIFECYCLE_EVENT_SOURCE, LIFECYCLE_EVENT_TYPES } from '../functions/core/model';

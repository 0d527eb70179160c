/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (an esbuild alias in
 * `lib/app-function.ts`). Lambda gives every function its role's credentials in environment
 * variables, so the SDK's default chain (profiles, SSO, web identity, container and instance
 * metadata) is dead weight there: about 100 KB of every bundle, parsed at every cold start.
 * Outside Lambda (the local stack, tests) the SDK's own chain is used, unchanged.
 */
export { fromEnv as defaultProvider } from '@aws-sdk/credential-provider-env';

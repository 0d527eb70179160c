/** The package's `./cdk` entry: the construct a host stack embeds, and its props. */
export { EcwidAppAuth } from './ecwid-app-auth';
export type { EcwidAppAuthProps } from './settings';

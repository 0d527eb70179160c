import { BINDING_COOKIE, type HttpCall, type IssuedStates } from './arbitraries';
import { readCallbackQuery } from './query-reading';

/** The store id in the grant `ScriptedTokenEndpoint` answers with when the request names none. */
const DEFAULT_GRANT_STORE_ID = 1003;

export type Expectation =
  | { outcome: 'refused'; status: 400 | 403; reason: string }
  | { outcome: 'cancelled' }
  | {
      outcome: 'installed';
      code: string;
      /** The store the success page names. */
      storeId: number;
      /** The token request this callback must send; absent when the code was exchanged before. */
      exchange?: { code: string; storeId: number | undefined };
      /** The state this callback spends (or had already spent with the same code). */
      spendsState?: string;
    };

/** The value of the binding cookie as the browser presented it: the first cookie of that name. */
export function presentedBinding(call: HttpCall): string | undefined {
  const entries = call.cookies ?? (call.cookieHeader ?? '').split(';');
  for (const entry of entries) {
    const separator = entry.indexOf('=');
    if (separator > 0 && entry.slice(0, separator).trim() === BINDING_COOKIE) return entry.slice(separator + 1).trim();
  }
  return undefined;
}

/**
 * What the install flow must do with each callback, from the protocol's rules and what happened
 * earlier in the run: which states were issued to which browser and spent by which code, and which
 * codes were exchanged. It never consults the code under test.
 */
export class InstallModel {
  private readonly bindingOf: Map<string, string>;
  private readonly spentBy = new Map<string, string>();
  private readonly exchanged = new Map<string, number>();

  constructor(
    issued: IssuedStates,
    private readonly settings: { appMarketInstalls: boolean; statesExpired: boolean },
  ) {
    this.bindingOf = new Map([
      [issued.s1, issued.b1],
      [issued.s2, issued.b2],
      [issued.s3, issued.b1],
    ]);
  }

  /** Whether this code was exchanged earlier in the run. */
  wasExchanged(code: string): boolean {
    return this.exchanged.has(code);
  }

  expect(call: HttpCall): Expectation {
    const reading = readCallbackQuery(call.query);
    switch (reading.kind) {
      case 'invalid':
        return { outcome: 'refused', status: 400, reason: reading.reason };
      case 'consent_denied':
        return { outcome: 'cancelled' };
      case 'ecwid_error':
        return { outcome: 'refused', status: 400, reason: 'Ecwid reported an error' };
      case 'code':
        break;
    }
    const { code, state, storeId } = reading;

    if (state === undefined) {
      if (!this.settings.appMarketInstalls) return { outcome: 'refused', status: 403, reason: 'App Market lane disabled' };
      return this.install(code, storeId, undefined);
    }

    const binding = this.bindingOf.get(state);
    const spentBy = this.spentBy.get(state);
    // A reload of the very callback that spent the state is that callback again.
    if (binding !== undefined && spentBy === code) return this.install(code, storeId, state);
    const refusal = ((): Expectation | undefined => {
      if (binding === undefined) return { outcome: 'refused', status: 400, reason: 'state not issued' };
      if (spentBy !== undefined) return { outcome: 'refused', status: 400, reason: 'state already spent' };
      if (this.settings.statesExpired) return { outcome: 'refused', status: 400, reason: 'state expired' };
      if (presentedBinding(call) !== binding) return { outcome: 'refused', status: 403, reason: 'another browser' };
      return undefined;
    })();
    if (refusal === undefined) return this.install(code, storeId, state);
    // A state that no longer works does not hide the outcome of a code that was already exchanged.
    const earlier = this.exchanged.get(code);
    return earlier === undefined ? refusal : { outcome: 'installed', code, storeId: earlier };
  }

  /** Records what an answered callback changed. */
  record(expectation: Expectation): void {
    if (expectation.outcome !== 'installed') return;
    if (expectation.spendsState !== undefined && !this.spentBy.has(expectation.spendsState)) {
      this.spentBy.set(expectation.spendsState, expectation.code);
    }
    if (!this.exchanged.has(expectation.code)) this.exchanged.set(expectation.code, expectation.storeId);
  }

  private install(code: string, storeId: number | undefined, state: string | undefined): Expectation {
    const spendsState = state === undefined ? {} : { spendsState: state };
    const earlier = this.exchanged.get(code);
    if (earlier !== undefined) return { outcome: 'installed', code, storeId: earlier, ...spendsState };
    return {
      outcome: 'installed',
      code,
      storeId: storeId ?? DEFAULT_GRANT_STORE_ID,
      exchange: { code, storeId },
      ...spendsState,
    };
  }
}

/** The encryption context every data key of this app carries; IAM conditions in the stack require it. */
export const TOKEN_ENCRYPTION_CONTEXT = { appKey: 'app', appValue: 'ecwid-app-auth', storeKey: 'storeId' } as const;

/**
 * The condition every use of the token key must meet, in IAM's words: this app's encryption context,
 * with a store id. The functions always send both, so a call without them is not one of theirs. One
 * definition for the IAM policies and the key policy the stack writes, and for the local KMS stub,
 * which refuses what these would refuse: a context that drifted from them fails every test.
 */
export const TOKEN_KEY_CONDITIONS = {
  StringEquals: { [`kms:EncryptionContext:${TOKEN_ENCRYPTION_CONTEXT.appKey}`]: TOKEN_ENCRYPTION_CONTEXT.appValue },
  Null: { [`kms:EncryptionContext:${TOKEN_ENCRYPTION_CONTEXT.storeKey}`]: 'false' },
} as const;
